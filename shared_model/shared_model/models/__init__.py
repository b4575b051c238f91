"""Every table of the platform; importing this module registers them all on ``Base.metadata``."""

from .assignments import WorkAssignment, WorkAssignmentAnnotator, WorkAssignmentItem
from .base import Base
from .browsing import HeuristicVoteSummary, HeuristicVoteSummaryState, LabelingSession, RecordTaskLabel
from .enums import (
    AttributeState,
    AttributeVisibility,
    CommentTarget,
    DataType,
    EmbeddingType,
    HeuristicType,
    JobState,
    ProjectStatus,
    ReturnType,
    RunState,
    SliceType,
    SourceType,
    TaskTarget,
    TaskType,
    UserRole,
)
from .heuristics import HeuristicRun, HeuristicStatistics, InformationSource, WeakSupervisionRun
from .jobs import Job
from .knowledge import Comment, DataSlice, DataSliceRecord, Embedding, LookupList, Term
from .label_history import LabelHistory
from .labeling import HeuristicResult, HeuristicResultChunk, HeuristicResultCurrent, Label, LabelingTask, RecordLabelAssociation
from .preferences import UserSetting
from .project import Attribute, AttributeValueChunk, AttributeValueCurrent, Project, ProjectRecordCount, Record, RecordTokenized
from .users import ApiToken, LoginFailure, ProjectMember, User, UserSession

__all__ = [
    "ApiToken",
    "Attribute",
    "AttributeValueChunk",
    "AttributeValueCurrent",
    "AttributeState",
    "AttributeVisibility",
    "Base",
    "Comment",
    "CommentTarget",
    "DataSlice",
    "DataSliceRecord",
    "DataType",
    "Embedding",
    "EmbeddingType",
    "HeuristicResult",
    "HeuristicResultChunk",
    "HeuristicResultCurrent",
    "HeuristicRun",
    "HeuristicStatistics",
    "HeuristicType",
    "HeuristicVoteSummary",
    "HeuristicVoteSummaryState",
    "RecordTaskLabel",
    "InformationSource",
    "Job",
    "JobState",
    "Label",
    "LabelHistory",
    "LabelingSession",
    "LabelingTask",
    "LoginFailure",
    "LookupList",
    "Project",
    "ProjectMember",
    "ProjectStatus",
    "Record",
    "RecordLabelAssociation",
    "ProjectRecordCount",
    "RecordTokenized",
    "ReturnType",
    "RunState",
    "SliceType",
    "SourceType",
    "TaskTarget",
    "TaskType",
    "Term",
    "User",
    "UserRole",
    "UserSession",
    "UserSetting",
    "WorkAssignment",
    "WorkAssignmentAnnotator",
    "WorkAssignmentItem",
    "WeakSupervisionRun",
]

"""The project's label-resolution rule: which annotator's manual labels are the decided ones where they disagree."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from shared_model.models import ProjectMember
from shared_model.service import problem

from ..deps import ProjectDep, SessionDep
from ..domain import valid_labels
from ..domain.valid_labels import Resolution, Rule
from ..policies import Action, allow
from ..schemas import RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["label resolution"])

RULES = (
    "A gold star decides first, then a single annotator's labels, then labels all annotators agree on; where they "
    "disagree: UNANIMOUS leaves no decided label, MAJORITY takes the label set most annotators gave (a tie: none), "
    "EXPERT takes the expert's labels where the expert labeled the record (elsewhere: as UNANIMOUS)."
)


class ResolutionIn(RequestModel):
    rule: Rule = Field(description=RULES)
    expert_user_id: uuid.UUID | None = Field(default=None, description="The expert (a project member); only with EXPERT.")

    @model_validator(mode="after")
    def _expert(self) -> ResolutionIn:
        if self.rule == Rule.EXPERT and self.expert_user_id is None:
            raise ValueError("rule EXPERT needs expert_user_id")
        if self.rule != Rule.EXPERT and self.expert_user_id is not None:
            raise ValueError(f"expert_user_id is only for rule EXPERT, not {self.rule.value}")
        return self


class ResolutionOut(BaseModel):
    rule: Rule = Field(description=RULES)
    expert_user_id: uuid.UUID | None
    recomputed: int | None = Field(default=None, description="(record, task) pairs whose decided label was recomputed.")


@router.get("/label-resolution", response_model=ResolutionOut, dependencies=[allow(Action.READ_PROJECT)])
def get_resolution(project: ProjectDep) -> ResolutionOut:
    """The project's resolution rule (UNANIMOUS unless set)."""
    found = Resolution.from_settings(project.settings)
    return ResolutionOut(rule=found.rule, expert_user_id=found.expert_user_id)


@router.put("/label-resolution", response_model=ResolutionOut, dependencies=[allow(Action.EDIT_PROJECT)])
def set_resolution(body: ResolutionIn, project: ProjectDep, session: SessionDep) -> ResolutionOut:
    """Set the rule; the decided manual labels of the whole project are recomputed by it in the same transaction."""
    if body.expert_user_id is not None:
        member = session.scalar(
            select(ProjectMember.id).where(ProjectMember.project_id == project.id, ProjectMember.user_id == body.expert_user_id)
        )
        if member is None:
            raise problem(422, f"expert_user_id: user {body.expert_user_id} is not a member of this project")
    resolution = Resolution(body.rule, body.expert_user_id)
    project.settings = {**(project.settings or {}), valid_labels.SETTINGS_KEY: resolution.to_settings()}
    session.flush()
    recomputed = valid_labels.recompute_project(session, project.id, resolution)
    return ResolutionOut(rule=resolution.rule, expert_user_id=resolution.expert_user_id, recomputed=recomputed)

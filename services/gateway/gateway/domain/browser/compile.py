"""Compile a :class:`~.filters.FilterGroup` to a SQL condition on ``record`` (SQLAlchemy Core).

Every reference (attribute, task, label, heuristic, slice, annotator) is checked against the project first; a bad
one is a 422 naming the condition's place in the filter (``filter.conditions[2]``) and what is wrong with it.

Label conditions are ``EXISTS`` on ``record_label_association`` (indexed by record and task); heuristic conditions
read the vote chunks of ``heuristic_result`` (``EXISTS`` over the unnested record ids, which Postgres plans as a
hash semi- or anti-join); attribute conditions read ``record.data``.

Why one module of ~600 lines: it is one compiler, a function per condition kind over one shared catalog and one
place-naming scheme for errors; the kinds are read side by side, and the read model, indexes and explain helpers
already live in their own modules.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Numeric,
    Text,
    and_,
    any_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.util import ClauseAdapter

from shared_model.manual_vs_weak import ensure_differ
from shared_model.models import (
    Attribute,
    Comment,
    CommentTarget,
    DataSlice,
    DataSliceRecord,
    DataType,
    HeuristicResult,
    HeuristicVoteSummary,
    InformationSource,
    Label,
    LabelingTask,
    ProjectMember,
    Record,
    RecordTaskLabel,
    SliceType,
    SourceType,
    TaskType,
)
from shared_model.models import RecordLabelAssociation as RLA
from shared_model.models import WeakSupervisionAssociation as WSA
from shared_model.models import WeakSupervisionResult as WSR
from shared_model.service import problem

from .filters import (
    AnnotatorsDisagreeCondition,
    AttributeCondition,
    FilterGroup,
    FullTextCondition,
    GoldStarCondition,
    HasCommentsCondition,
    HeuristicCondition,
    HeuristicsDisagreeCondition,
    HeuristicVote,
    InSliceCondition,
    LabelMode,
    ManualLabelCondition,
    ManualWsDifferCondition,
    NoHeuristicVotedCondition,
    Operator,
    SimilarCondition,
    SimilarityLookup,
    SimilarityQuery,
    WeakSupervisionCondition,
    check_limits,
)
from .index_names import existing, index_name, sql_of
from .read_model import ensure_vote_summary
from .weak_labels import NO_VERSION, current_versions

NUMERIC = (DataType.INTEGER, DataType.FLOAT)
SEARCHABLE = (DataType.INTEGER, DataType.FLOAT, DataType.BOOLEAN, DataType.CATEGORY, DataType.TEXT)
MAX_SLICE_NESTING = 3
TRIGRAM_IDS = 2000  # matches of a substring condition looked up through a trigram index and put into the query
TRIGRAM_SAMPLE = 2000  # first records of the project a substring condition is tried on before its index lookup
TRIGRAM_COMMON = 5  # matches among them that make it common (no index lookup)


@dataclass
class ProjectCatalog:
    """What a filter may name in one project, loaded once per request."""

    project_id: uuid.UUID
    user_id: uuid.UUID | None
    attributes: dict[str, DataType]
    tasks: dict[uuid.UUID, str]
    labels: dict[uuid.UUID, uuid.UUID]  # label -> task
    heuristics: dict[uuid.UUID, uuid.UUID]  # heuristic -> task
    members: set[uuid.UUID]
    slices: dict[uuid.UUID, DataSlice] = field(default_factory=dict)
    session: Session | None = None  # set: vote conditions use (and refresh) the read model
    task_types: dict[uuid.UUID, TaskType] = field(default_factory=dict)
    used_attributes: set[str] = field(default_factory=set)  # named by the compiled filters (for their indexes)
    used_full_text: set[str | None] = field(default_factory=set)  # attributes (None: all text) searched by words
    similar: dict[SimilarityLookup, list[tuple[int, float]]] = field(default_factory=dict)  # hits (see .similarity)
    used_substring: set[str] = field(default_factory=set)  # TEXT attributes searched by substring (trigram indexes)
    used_shuffle: bool = False  # a random order was read (the project's shuffle index, see sort.py)
    trigram_indexed: set[str] | None = None  # TEXT attributes with a valid trigram index (loaded on first need)
    trigrams_applied: bool = False  # set by the compiler when a substring condition was answered by a trigram index
    trigram_matches: dict[str, list[int]] = field(default_factory=dict)  # ids found per lookup (this request)
    ws_versions: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # task -> current weak-supervision version

    def ws_version(self, task_id: uuid.UUID) -> uuid.UUID:
        """The task's current weak-supervision version, read once per request (a task without one: a version that
        has no rows). Queries name it as a constant, so the version's indexes serve them (see :mod:`.weak_labels`)."""
        return self.ws_versions.get(task_id, NO_VERSION)

    @classmethod
    def load(cls, session: Session, project_id: uuid.UUID, user_id: uuid.UUID | None) -> ProjectCatalog:
        attributes = {
            name: DataType(kind)
            for name, kind in session.execute(
                select(Attribute.name, Attribute.data_type).where(Attribute.project_id == project_id)
            )
        }
        task_rows = session.execute(
            select(LabelingTask.id, LabelingTask.name, LabelingTask.task_type).where(LabelingTask.project_id == project_id)
        ).all()
        tasks: dict[uuid.UUID, str] = {row[0]: row[1] for row in task_rows}
        task_types: dict[uuid.UUID, TaskType] = {row[0]: TaskType(row[2]) for row in task_rows}
        labels: dict[uuid.UUID, uuid.UUID] = dict(
            session.execute(select(Label.id, Label.labeling_task_id).where(Label.project_id == project_id)).tuples().all()
        )
        heuristics: dict[uuid.UUID, uuid.UUID] = dict(
            session.execute(
                select(InformationSource.id, InformationSource.labeling_task_id).where(InformationSource.project_id == project_id)
            )
            .tuples()
            .all()
        )
        members = set(session.scalars(select(ProjectMember.user_id).where(ProjectMember.project_id == project_id)))
        slices = {s.id: s for s in session.scalars(select(DataSlice).where(DataSlice.project_id == project_id))}
        catalog = cls(project_id, user_id, attributes, tasks, labels, heuristics, members, slices, session, task_types)
        catalog.ws_versions = current_versions(session, list(tasks))
        return catalog


def compile_filter(catalog: ProjectCatalog, group: FilterGroup | None, where: str = "filter") -> ColumnElement[bool]:
    """The SQL condition on :class:`Record` selecting the filter's records (422 naming a bad condition)."""
    if group is None:
        return true()
    check_limits(group, where)
    return _Compiler(catalog).group(group, where, 0)


def _text(value: Any) -> str:
    """A value as ``record.data ->> name`` shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def wildcard_pattern(text: str) -> str:
    """An IN_WC value as a LIKE pattern: ``*``/``%`` any text, ``?``/``_`` one character, the rest literal."""
    out = []
    for char in text:
        if char in "*%":
            out.append("%")
        elif char in "?_":
            out.append("_")
        elif char == "\\":
            out.append("\\\\")
        else:
            out.append(char)
    return "".join(out)


def wildcard_regex(text: str) -> re.Pattern[str]:
    """The same pattern as a Python regex (full match), for tests and the labeling-function source."""
    parts = [".*" if c in "*%" else "." if c in "?_" else re.escape(c) for c in text]
    return re.compile("".join(parts), re.DOTALL)


class _Compiler:
    def __init__(self, catalog: ProjectCatalog, slice_depth: int = 0) -> None:
        self.catalog = catalog
        self.slice_depth = slice_depth

    # --- structure ----------------------------------------------------------------------------------------------

    def group(self, group: FilterGroup, path: str, depth: int, positive: bool = True) -> ColumnElement[bool]:
        """``positive``: no negation above this group, so a condition that is NULL (a record without the value) may
        stay NULL instead of false (the same records in AND/OR), which keeps attribute comparisons indexable."""
        inner = positive and not group.negate
        parts = [self.condition(child, f"{path}.conditions[{i}]", depth + 1, inner) for i, child in enumerate(group.conditions)]
        if not parts:
            combined: ColumnElement[bool] = true()
        elif len(parts) == 1:
            combined = parts[0]
        else:
            combined = and_(*parts) if group.join == "AND" else or_(*parts)
        return not_(combined) if group.negate else combined

    def condition(self, node: Any, path: str, depth: int, positive: bool = True) -> ColumnElement[bool]:
        if isinstance(node, FilterGroup):
            return self.group(node, path, depth, positive)
        if isinstance(node, AttributeCondition):
            clause = self._attribute(node, path, bare=positive and not node.negate)
        elif isinstance(node, FullTextCondition):
            clause = self._full_text(node, path, bare=positive and not node.negate)
        elif isinstance(node, InSliceCondition):
            clause = self._in_slice(node, path, positive=positive and not node.negate)
        else:
            clause = getattr(self, f"_{node.kind}")(node, path)
        return not_(clause) if node.negate else clause

    # --- references ---------------------------------------------------------------------------------------------

    def _task(self, task_id: uuid.UUID, path: str) -> uuid.UUID:
        if task_id not in self.catalog.tasks:
            raise problem(422, f"{path}: labeling task {task_id} does not exist in this project", condition=path)
        return task_id

    def _labels(self, task_id: uuid.UUID, label_ids: list[uuid.UUID], mode: str, path: str) -> list[uuid.UUID]:
        if mode == "labels" and not label_ids:
            raise problem(422, f"{path}: mode 'labels' needs at least one label id in label_ids", condition=path)
        if mode != "labels" and label_ids:
            raise problem(422, f"{path}: label_ids are only allowed with mode 'labels', not {mode!r}", condition=path)
        for label_id in label_ids:
            owner = self.catalog.labels.get(label_id)
            if owner is None:
                raise problem(422, f"{path}: label {label_id} does not exist in this project", condition=path)
            if owner != task_id:
                raise problem(
                    422,
                    f"{path}: label {label_id} belongs to task {self.catalog.tasks[owner]!r}, "
                    f"not to {self.catalog.tasks[task_id]!r}",
                    condition=path,
                )
        return label_ids

    # --- attributes ---------------------------------------------------------------------------------------------

    def _attribute(self, node: AttributeCondition, path: str, bare: bool = False) -> ColumnElement[bool]:
        if node.attribute is None:
            names = [name for name, kind in self.catalog.attributes.items() if kind in SEARCHABLE]
            parts = [self._on_attribute(node, name, path, lenient=True, bare=bare) for name in sorted(names)]
            kept = [p for p in parts if p is not None]
            return or_(*kept) if kept else false()
        kind = self.catalog.attributes.get(node.attribute)
        if kind is None:
            raise problem(422, f"{path}: attribute {node.attribute!r} does not exist in this project", condition=path)
        if kind not in SEARCHABLE:
            raise problem(422, f"{path}: attribute {node.attribute!r} is {kind}; it cannot be filtered", condition=path)
        clause = self._on_attribute(node, node.attribute, path, lenient=False, bare=bare)
        assert clause is not None
        self.catalog.used_attributes.add(node.attribute)
        return clause

    def _on_attribute(
        self, node: AttributeCondition, name: str, path: str, *, lenient: bool, bare: bool = False
    ) -> ColumnElement[bool] | None:
        """The condition on one attribute: NULL where the record lacks the value, unless not ``bare`` (then false,
        so that a negation selects those records)."""

        def done(clause: ColumnElement[bool]) -> ColumnElement[bool]:
            return clause if bare else func.coalesce(clause, false())

        kind = self.catalog.attributes[name]
        op = node.operator
        text_ops = (Operator.BEGINS_WITH, Operator.ENDS_WITH, Operator.CONTAINS, Operator.IN_WC)
        if kind in NUMERIC and op not in text_ops:
            numbers = []
            for value in node.values:
                number = _number(value)
                if number is None:
                    if lenient:
                        return None
                    raise problem(
                        422,
                        f"{path}: {name!r} is {kind}; {op} needs numbers, not {value!r}",
                        condition=path,
                    )
                numbers.append(number)
            value_expr = numeric_value(name)
            return done(_compare(value_expr, op, [literal(n, Numeric) for n in numbers]))
        raw = text_value(name, node.case_sensitive)
        texts = [_text(v) for v in node.values]
        if not node.case_sensitive:  # lower() in the database's collation, comparisons by code point ("C")
            texts = [t.lower() for t in texts]
        if op in text_ops:
            if kind == DataType.TEXT:
                self.catalog.used_substring.add(name)
            trigrams = kind == DataType.TEXT and name in trigram_indexed(self.catalog)
            if op == Operator.IN_WC:
                likes = [raw.like(wildcard_pattern(t), escape="\\") for t in texts]
                clause: ColumnElement[bool] = or_(*likes)
                parts = [literal_parts(t) for t in texts]
            else:
                escaped = _escape_like(texts[0])
                pattern = {
                    Operator.BEGINS_WITH: f"{escaped}%",
                    Operator.ENDS_WITH: f"%{escaped}",
                    Operator.CONTAINS: f"%{escaped}%",
                }[op]
                clause = raw.like(pattern, escape="\\")
                parts = [[texts[0]]]
            if trigrams:
                clause = self._with_trigrams(name, clause, parts)
            return done(clause)
        return done(_compare(raw, op, [literal(t).collate("C") for t in texts]))

    def _with_trigrams(self, name: str, like: ColumnElement[bool], alternatives: list[list[str]]) -> ColumnElement[bool]:
        """``like``, or the ids of the records it selects when they are few, found through the trigram index.

        The candidates are the records whose value's trigrams contain those of each literal part (three or more
        characters) of one of the ``alternatives`` (a pattern's parts; IN_WC: one per value): a necessary
        condition of the match, taken from the index instead of reading every record's JSON; ``like`` is checked
        on them. Up to ``TRIGRAM_IDS`` matches are looked up once per request (the ids go into the query); with
        more, ``like`` stays as it is (a common pattern: reading records in the page's order fills a page soon).
        A pattern that matches ``TRIGRAM_COMMON`` of the project's first ``TRIGRAM_SAMPLE`` records is common
        without a lookup (which would read the long posting lists of its trigrams).
        Unchanged when an alternative has no such part (it could match any value). Lower-cased on both sides by
        the database (a case-sensitive match implies the lower-cased one). Never NULL: like the bare condition
        it selects the records that match, negated too (see ``done``)."""
        needs = [[part for part in parts if len(part) >= 3] for parts in alternatives]
        if not needs or not all(needs) or self.catalog.session is None:
            return like
        other = Record.__table__.alias("trigram_candidates")
        value = func.browser_trigrams(func.lower(other.c.data[name].astext), type_=ARRAY(Text))
        contains = [
            and_(
                *(
                    value.op("@>", is_comparison=True)(func.browser_trigrams(func.lower(literal(p)), type_=ARRAY(Text)))
                    for p in need
                )
            )
            for need in needs
        ]
        matched = (
            select(other.c.id)
            .where(other.c.project_id == self.catalog.project_id, or_(*contains), adapt(other, like))
            .limit(TRIGRAM_IDS + 1)
        )
        key = str(matched.compile(compile_kwargs={"literal_binds": True}))
        ids = self.catalog.trigram_matches.get(key)
        if ids is None:
            # a common pattern (matches among the project's first records) is not looked up: a page in id order
            # finds it soon, and its index lookup would read long posting lists
            first = select(Record.data).where(Record.project_id == self.catalog.project_id).order_by(Record.id)
            sample = first.limit(TRIGRAM_SAMPLE).subquery("trigram_sample")
            common = select(func.count()).select_from(sample).where(adapt(sample, like))
            if (self.catalog.session.scalar(common) or 0) >= TRIGRAM_COMMON:
                ids = [0] * (TRIGRAM_IDS + 1)  # (as many as "too many")
            else:
                ids = list(self.catalog.session.scalars(matched))
            self.catalog.trigram_matches[key] = ids
        if len(ids) > TRIGRAM_IDS:
            return like
        self.catalog.trigrams_applied = True
        return Record.id == any_(cast(literal(sorted(ids), ARRAY(BigInteger)), ARRAY(BigInteger)))

    def _full_text(self, node: FullTextCondition, path: str, bare: bool = False) -> ColumnElement[bool]:
        if node.attribute is not None:
            kind = self.catalog.attributes.get(node.attribute)
            if kind is None:
                raise problem(422, f"{path}: attribute {node.attribute!r} does not exist in this project", condition=path)
            if kind not in (DataType.TEXT, DataType.CATEGORY):
                raise problem(
                    422, f"{path}: attribute {node.attribute!r} is {kind}; full text needs TEXT or CATEGORY", condition=path
                )
        self.catalog.used_full_text.add(node.attribute)
        clause = text_document(node.attribute).op("@@")(text_query(node.query))
        return clause if bare else func.coalesce(clause, false())

    # --- labels -------------------------------------------------------------------------------------------------

    def _rla(self, task_id: uuid.UUID, source: SourceType, *extra: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists().where(RLA.record_id == Record.id, RLA.labeling_task_id == task_id, RLA.source_type == source, *extra)

    def _manual_label(self, node: ManualLabelCondition, path: str) -> ColumnElement[bool]:
        task_id = self._task(node.task_id, path)
        labels = self._labels(task_id, node.label_ids, node.mode, path)
        extra: list[ColumnElement[bool]] = []
        if node.annotator_id is not None:
            if node.annotator_id not in self.catalog.members:
                raise problem(422, f"{path}: user {node.annotator_id} is not a member of this project", condition=path)
            extra.append(RLA.created_by == node.annotator_id)
        if (
            self.catalog.session is not None
            and node.annotator_id is None
            and (node.mode != LabelMode.LABELS or (node.decided and self._is_classification(task_id)))
        ):
            # the read model: one row per (record, task) instead of the task's label rows
            if node.mode == LabelMode.LABELS:
                read: ColumnElement[bool] = RecordTaskLabel.decided.overlap(self._signatures(labels))
            else:
                read = RecordTaskLabel.decided.is_not(None) if node.decided else RecordTaskLabel.manual.is_(True)
            found = self._read_model(task_id, read)
            return not_(found) if node.mode == LabelMode.NONE else found
        if node.decided:
            extra.append(RLA.is_valid_manual_label.is_(True))
        if node.mode == LabelMode.LABELS:
            extra.append(RLA.label_id.in_(labels))
        found = self._rla(task_id, SourceType.MANUAL, *extra)
        return not_(found) if node.mode == LabelMode.NONE else found

    def _gold_star(self, node: GoldStarCondition, path: str) -> ColumnElement[bool]:
        return self._rla(self._task(node.task_id, path), SourceType.MANUAL, RLA.is_gold_star.is_(True))

    def _weak_supervision(self, node: WeakSupervisionCondition, path: str) -> ColumnElement[bool]:
        """The task's current weak-supervision version (migration 0023): one row per record (labels as an array, the
        highest confidence), or one per label (``weak_supervision_association``) for a confidence range on a task
        whose records may have several labels with their own confidences."""
        task_id = self._task(node.task_id, path)
        labels = self._labels(task_id, node.label_ids, node.mode, path)
        ranged = node.min_confidence is not None or node.max_confidence is not None
        if node.mode == LabelMode.NONE:
            if ranged:
                raise problem(422, f"{path}: a confidence range needs mode 'any' or 'labels', not 'none'", condition=path)
            return not_(self._ws_rows(task_id))
        single = self.catalog.task_types.get(task_id) == TaskType.MULTICLASS_CLASSIFICATION
        if single or not ranged:
            rows = WSR
            reads: list[ColumnElement[bool]] = []
            if node.mode == LabelMode.LABELS:
                reads.append(rows.label_ids.overlap(cast(labels, ARRAY(PgUUID(as_uuid=True)))))
            if node.min_confidence is not None:
                reads.append(rows.confidence >= node.min_confidence)
            if node.max_confidence is not None:
                reads.append(rows.confidence <= node.max_confidence)
            return self._ws_rows(task_id, *reads)
        extra: list[ColumnElement[bool]] = []
        if node.mode == LabelMode.LABELS:
            extra.append(WSA.label_id.in_(labels))
        if node.min_confidence is not None:
            extra.append(WSA.confidence >= node.min_confidence)
        if node.max_confidence is not None:
            extra.append(WSA.confidence <= node.max_confidence)
        return exists().where(WSA.record_id == Record.id, WSA.labeling_task_id == task_id, *extra)

    def _ws_rows(self, task_id: uuid.UUID, *where: ColumnElement[bool]) -> ColumnElement[bool]:
        """A row of the task's current weak-supervision version for the record (its version a constant)."""
        return exists().where(WSR.version_id == self.catalog.ws_version(task_id), WSR.record_id == Record.id, *where)

    def _manual_ws_differ(self, node: ManualWsDifferCondition, path: str) -> ColumnElement[bool]:
        """The read model's ``differ`` flag (a partial index): the record's decided manual labels and its labels in the
        task's current weak-supervision version are both there and not the same set. The flags are recomputed once
        after a new run became current (:func:`shared_model.manual_vs_weak.ensure_differ`)."""
        task_id = self._task(node.task_id, path)
        if self.catalog.session is None:  # no read model (the benchmark's baseline): the label rows set-wise
            return self._manual_ws_differ_rows(task_id)
        version = self.catalog.ws_version(task_id)
        if version == NO_VERSION:
            return false()
        ensure_differ(self.catalog.session, task_id, version)
        return self._read_model(task_id, RecordTaskLabel.differ.is_(True), RecordTaskLabel.ws_version == version)

    def _manual_ws_differ_rows(self, task_id: uuid.UUID) -> ColumnElement[bool]:
        """Set-wise: a full join of the task's valid manual rows and its weak-supervision rows (on manually labeled
        records) by record, label and span; a record with a row unmatched on either side differs."""
        valid = (RLA.labeling_task_id == task_id, RLA.source_type == SourceType.MANUAL, RLA.is_valid_manual_label.is_(True))

        def rows(*where: ColumnElement[bool]) -> Any:
            return (
                select(
                    RLA.record_id,
                    RLA.label_id,
                    func.coalesce(RLA.token_start, -1).label("start"),
                    func.coalesce(RLA.token_end, -1).label("end"),
                )
                .where(*where)
                .subquery()
            )

        manual = rows(*valid)
        labeled = aliased(RLA)
        weak = (
            select(
                WSA.record_id,
                WSA.label_id,
                func.coalesce(WSA.token_start, -1).label("start"),
                func.coalesce(WSA.token_end, -1).label("end"),
            )
            .where(
                WSA.labeling_task_id == task_id,
                WSA.record_id.in_(
                    select(labeled.record_id).where(
                        labeled.labeling_task_id == task_id,
                        labeled.source_type == SourceType.MANUAL,
                        labeled.is_valid_manual_label.is_(True),
                    )
                ),
            )
            .subquery()
        )
        same = and_(
            manual.c.record_id == weak.c.record_id,
            manual.c.label_id == weak.c.label_id,
            manual.c.start == weak.c.start,
            manual.c.end == weak.c.end,
        )
        differing = (
            select(func.coalesce(manual.c.record_id, weak.c.record_id))
            .select_from(manual.join(weak, same, full=True))
            .where(or_(manual.c.record_id.is_(None), weak.c.record_id.is_(None)))
        )
        return and_(
            self._rla(task_id, SourceType.MANUAL, RLA.is_valid_manual_label.is_(True)),
            exists().where(WSA.record_id == Record.id, WSA.labeling_task_id == task_id),
            Record.id.in_(differing),
        )

    def _read_model(self, task_id: uuid.UUID, *where: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists().where(RecordTaskLabel.labeling_task_id == task_id, RecordTaskLabel.record_id == Record.id, *where)

    def _is_classification(self, task_id: uuid.UUID) -> bool:
        return self.catalog.task_types.get(task_id) in (
            TaskType.MULTICLASS_CLASSIFICATION,
            TaskType.MULTILABEL_CLASSIFICATION,
        )

    @staticmethod
    def _signatures(labels: list[uuid.UUID]) -> ColumnElement[Any]:
        """Classification labels as the read model's ``label:start:end`` texts."""
        return cast([f"{label}:-1:-1" for label in labels], ARRAY(Text))

    def _annotators_disagree(self, node: AnnotatorsDisagreeCondition, path: str) -> ColumnElement[bool]:
        """Per record, each annotator's labels as one sorted text (label, span); more than one distinct text differs."""
        task_id = self._task(node.task_id, path)
        item = func.concat_ws(":", RLA.label_id, func.coalesce(RLA.token_start, -1), func.coalesce(RLA.token_end, -1))
        per_annotator = (
            select(RLA.record_id, func.array_agg(aggregate_order_by(item, item)).label("labels"))
            .where(RLA.labeling_task_id == task_id, RLA.source_type == SourceType.MANUAL)
            .group_by(RLA.record_id, RLA.created_by)
            .subquery()
        )
        differing = (
            select(per_annotator.c.record_id)
            .group_by(per_annotator.c.record_id)
            .having(func.count(per_annotator.c.labels.distinct()) > 1)
        )
        return Record.id.in_(differing)

    # --- heuristics ---------------------------------------------------------------------------------------------

    @staticmethod
    def _votes(*where: ColumnElement[bool]) -> ColumnElement[bool]:
        ids = func.unnest(HeuristicResult.record_ids).table_valued("rid").render_derived()
        return exists(select(literal(1)).select_from(HeuristicResult).join(ids, true()).where(ids.c.rid == Record.id, *where))

    def _heuristic(self, node: HeuristicCondition, path: str) -> ColumnElement[bool]:
        task_id = self.catalog.heuristics.get(node.heuristic_id)
        if task_id is None:
            raise problem(422, f"{path}: heuristic {node.heuristic_id} does not exist in this project", condition=path)
        labels = self._labels(task_id, node.label_ids, node.mode, path)
        if self.catalog.session is not None:  # the read model: one row per record, votes as codes
            codes = ensure_vote_summary(self.catalog.session, task_id).codes(
                node.heuristic_id, labels if node.mode == HeuristicVote.LABELS else None
            )
            found: ColumnElement[bool] = (
                exists().where(
                    HeuristicVoteSummary.labeling_task_id == task_id,
                    HeuristicVoteSummary.record_id == Record.id,
                    HeuristicVoteSummary.votes.overlap(cast(codes, ARRAY(Integer))),
                )
                if codes
                else false()
            )
        else:
            where = [HeuristicResult.source_id == node.heuristic_id]
            if node.mode == HeuristicVote.LABELS:
                where.append(HeuristicResult.label_id.in_(labels))
            found = self._votes(*where)
        return not_(found) if node.mode == HeuristicVote.NONE else found

    def _summary(self, task_id: uuid.UUID, *where: ColumnElement[bool]) -> ColumnElement[bool] | None:
        """A condition on the task's vote summary (the read model, refreshed first), or None without a session."""
        if self.catalog.session is None:
            return None
        ensure_vote_summary(self.catalog.session, task_id)
        return exists().where(
            HeuristicVoteSummary.labeling_task_id == task_id, HeuristicVoteSummary.record_id == Record.id, *where
        )

    def _no_heuristic_voted(self, node: NoHeuristicVotedCondition, path: str) -> ColumnElement[bool]:
        task_id = self._task(node.task_id, path)
        voted = self._summary(task_id)
        if voted is not None:
            return not_(voted)
        return not_(self._votes(HeuristicResult.labeling_task_id == task_id))

    def _heuristics_disagree(self, node: HeuristicsDisagreeCondition, path: str) -> ColumnElement[bool]:
        task_id = self._task(node.task_id, path)
        summary = self._summary(task_id, HeuristicVoteSummary.labels > 1)
        if summary is not None:
            return summary
        ids = func.unnest(HeuristicResult.record_ids).table_valued("rid").render_derived()
        disagreeing = (
            select(ids.c.rid)
            .select_from(HeuristicResult)
            .join(ids, true())
            .where(HeuristicResult.labeling_task_id == task_id)
            .group_by(ids.c.rid)
            .having(func.count(HeuristicResult.label_id.distinct()) > 1)
        )
        return Record.id.in_(disagreeing)

    # --- comments and slices ------------------------------------------------------------------------------------

    def _has_comments(self, node: HasCommentsCondition, path: str) -> ColumnElement[bool]:
        visible: ColumnElement[bool] = Comment.is_private.is_(False)
        if self.catalog.user_id is not None:
            visible = or_(visible, Comment.created_by == self.catalog.user_id)
        return exists().where(
            Comment.project_id == self.catalog.project_id,
            Comment.target_type == CommentTarget.RECORD,
            Comment.target_id == cast(Record.id, Comment.target_id.type),
            visible,
        )

    def _similar(self, node: SimilarCondition, path: str) -> ColumnElement[bool]:
        """One of the hits neural search answered for the query (looked up before compiling, see ``.similarity``)."""
        ids = [record_id for record_id, _ in similar_hits(self.catalog, node, path)]
        return Record.id == any_(literal(ids, ARRAY(BigInteger))) if ids else false()

    def _in_slice(self, node: InSliceCondition, path: str, positive: bool = False) -> ColumnElement[bool]:
        found = self.catalog.slices.get(node.slice_id)
        if found is None:
            raise problem(422, f"{path}: data slice {node.slice_id} does not exist in this project", condition=path)
        if found.type != SliceType.DYNAMIC_DEFAULT:
            return exists().where(DataSliceRecord.data_slice_id == found.id, DataSliceRecord.record_id == Record.id)
        if self.slice_depth >= MAX_SLICE_NESTING:
            raise problem(422, f"{path}: slices refer to slices more than {MAX_SLICE_NESTING} deep", condition=path)
        inner = FilterGroup.model_validate(found.filter or {})
        where = f"{path} (slice {found.name!r}) filter"
        return _Compiler(self.catalog, self.slice_depth + 1).group(inner, where, 0, positive)


SIMILAR_WHERE = "records search, count, bulk-label and labeling sessions"


def similar_hits(catalog: ProjectCatalog, query: SimilarityQuery, path: str) -> list[tuple[int, float]]:
    """The hits of a similarity query looked up for this request (422 where none was: a stored slice's filter, a
    bulk delete)."""
    hits = catalog.similar.get(query.lookup())
    if hits is None:
        raise problem(
            422,
            f"{path}: similarity conditions and sorts work in {SIMILAR_WHERE} only, not in data slices or bulk delete",
            condition=path,
        )
    return hits


def numeric_value(name: str) -> ColumnElement[Any]:
    """A numeric attribute's value as a number (NULL when missing or not a number): the same expression in filters,
    sorts and the per-project expression indexes (see ``attribute_indexes``)."""
    return case(
        (func.jsonb_typeof(Record.data[name]) == "number", cast(Record.data[name].astext, Numeric)),
        else_=None,
    )


def text_value(name: str, case_sensitive: bool) -> ColumnElement[Any]:
    """An attribute's value as text compared by code point (lower-cased unless ``case_sensitive``): the same
    expression in filters, sorts and the per-project expression indexes."""
    raw: ColumnElement[Any] = Record.data[name].astext
    if not case_sensitive:
        raw = func.lower(raw)
    return raw.collate("C")


def adapt(table: Any, clause: ColumnElement[bool]) -> ColumnElement[bool]:
    """``clause`` (on ``record``) on an alias of the record table."""
    adapted: ColumnElement[bool] = ClauseAdapter(table).traverse(clause)
    return adapted


def trigram_value(name: str) -> ColumnElement[Any]:
    """The distinct three-character substrings of an attribute's lower-cased value (migration 0022's
    ``browser_trigrams``): the same expression in substring filters and the per-project GIN indexes."""
    return func.browser_trigrams(func.lower(Record.data[name].astext), type_=ARRAY(Text))


def literal_parts(text: str) -> list[str]:
    """The literal runs of an IN_WC value (between its wildcards ``*``, ``%``, ``?``, ``_``): every match contains
    each of them."""
    return [part for part in re.split(r"[*%?_]+", text) if part]


def trigram_indexed(catalog: ProjectCatalog) -> set[str]:
    """The project's TEXT attributes with a valid trigram index (looked up once per catalog; none without a
    session: the benchmark's baseline compiles without indexes)."""
    if catalog.trigram_indexed is None:
        if catalog.session is None:
            catalog.trigram_indexed = set()
        else:
            names = {
                index_name(catalog.project_id, sql_of(trigram_value(name))): name
                for name, kind in catalog.attributes.items()
                if kind == DataType.TEXT
            }
            found = existing(catalog.session, catalog.project_id) if names else set()
            catalog.trigram_indexed = {names[index] for index in found if index in names}
    return catalog.trigram_indexed


TEXT_SEARCH_CONFIG = "simple"


def text_document(name: str | None) -> ColumnElement[Any]:
    """The words of one attribute, or (None) of all the record's string values: the same expression in filters and
    the per-project GIN indexes (``attribute_indexes``)."""
    config: ColumnElement[Any] = literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig")
    if name is None:
        return func.jsonb_to_tsvector(config, Record.data, literal_column("'[\"string\"]'::jsonb"))
    return func.to_tsvector(config, Record.data[name].astext)


def text_query(query: str) -> ColumnElement[Any]:
    return func.websearch_to_tsquery(literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig"), literal(query))


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _compare(value: Any, op: Operator, args: list[Any]) -> ColumnElement[bool]:
    if op == Operator.EQUAL:
        result: ColumnElement[bool] = value == args[0]
    elif op == Operator.IN:
        result = or_(*(value == arg for arg in args))
    elif op == Operator.BETWEEN:
        result = and_(value >= args[0], value <= args[1])
    elif op == Operator.GREATER:
        result = value > args[0]
    elif op == Operator.GREATER_EQUAL:
        result = value >= args[0]
    elif op == Operator.LESS:
        result = value < args[0]
    elif op == Operator.LESS_EQUAL:
        result = value <= args[0]
    else:  # pragma: no cover - text operators are handled by the caller
        raise AssertionError(op)
    return result

"""The overview's metrics, each optionally on one data slice: progress, label distribution (manual vs weak
supervision), weak-supervision confidence histogram, confusion matrix (manual x weak supervision, OUTSIDE for
extraction) and heuristic coverage / hits / conflicts / overlaps.

Manual figures count *valid* manual labels (the gold-star / one-annotator / agreement / project resolution rule of
:mod:`..valid_labels`), as statistics and exports do.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, cast, func, literal, select, true
from sqlalchemy.orm import Session, aliased

from shared_model import kept_figures, manual_vs_weak
from shared_model.models import (
    HeuristicResult,
    HeuristicVoteSummary,
    InformationSource,
    Label,
    LabelingTask,
    ProjectRecordCount,
    Record,
    RecordTaskLabel,
    SourceType,
    TaskType,
)
from shared_model.models import RecordLabelAssociation as RLA
from shared_model.models import WeakSupervisionAssociation as WSA
from shared_model.models import WeakSupervisionResult as WSR

from . import ws_counts
from .compile import ProjectCatalog
from .filters import FilterGroup, InSliceCondition
from .read_model import LABEL_SLOTS, cache_figures, ensure_vote_summary
from .search import matching, tune

OUTSIDE = "OUTSIDE"


class Scope:
    """The records a metric looks at: the project's, or one slice's."""

    def __init__(self, session: Session, catalog: ProjectCatalog, slice_id: uuid.UUID | None, *, use_counts: bool = True) -> None:
        tune(session)
        self.catalog = catalog
        group = None if slice_id is None else FilterGroup(conditions=[InSliceCondition(slice_id=slice_id)])
        self.group = group
        # the whole project's weak-supervision figures from the counts kept with each version (migration 0024);
        # ``use_counts=False`` counts the version's rows instead (the exact query, as a slice's figures are counted)
        self.counted = group is None and use_counts
        self.records = select(Record.id).where(matching(catalog, group))

    def on(self, record_id: Any) -> ColumnElement[bool]:
        """Rows whose ``record_id`` is in scope."""
        if self.group is None:
            return true()
        return record_id.in_(self.records)


def _valid_manual(task_id: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
    return (RLA.labeling_task_id == task_id, RLA.source_type == SourceType.MANUAL, RLA.is_valid_manual_label.is_(True))


def _ws(task_id: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
    """The task's current weak-supervision labels, one row per label (``weak_supervision_association``)."""
    return (WSA.labeling_task_id == task_id,)


def progress(session: Session, scope: Scope) -> dict[str, Any]:
    """Records in scope, and per task how many have a valid manual label and a weak-supervision label."""
    if scope.group is None:  # the project's count, kept by triggers on record (migration 0011)
        total = int(
            session.scalar(select(ProjectRecordCount.records).where(ProjectRecordCount.project_id == scope.catalog.project_id))
            or 0
        )
    else:
        total = int(session.scalar(select(func.count()).select_from(scope.records.subquery())) or 0)
    tasks = session.execute(
        select(LabelingTask.id, LabelingTask.name)
        .where(LabelingTask.project_id == scope.catalog.project_id)
        .order_by(LabelingTask.name)
    ).all()
    # the read model (record_task_label): one row per (record, task) with a manual label, so no distinct over label
    # rows; the manual counts from its partial index on decided labels (migration 0022); weak supervision: the rows
    # (one per record) of each task's current version
    task_ids = [task_id for task_id, _ in tasks]
    manual_counts: dict[uuid.UUID, int] = dict(
        session.execute(
            select(RecordTaskLabel.labeling_task_id, func.count())
            .where(
                RecordTaskLabel.labeling_task_id.in_(task_ids),
                RecordTaskLabel.decided.is_not(None),
                scope.on(RecordTaskLabel.record_id),
            )
            .group_by(RecordTaskLabel.labeling_task_id)
        )
        .tuples()
        .all()
    )
    versions = {scope.catalog.ws_version(task_id): task_id for task_id in task_ids if task_id in scope.catalog.ws_versions}
    weak_counts: dict[uuid.UUID, int] = {}
    if versions and scope.counted:  # the versions' counts, kept with them (migration 0024)
        weak_counts = {versions[version]: n for version, n in kept_figures.version_records(session, list(versions)).items()}
    elif versions:  # one grouped count over the tasks' current versions
        counted = session.execute(
            select(WSR.version_id, func.count())
            .where(WSR.version_id.in_(list(versions)), scope.on(WSR.record_id))
            .group_by(WSR.version_id)
        ).tuples()
        weak_counts = {versions[version]: int(n) for version, n in counted}
    out = []
    for task_id, name in tasks:
        manual, weak = manual_counts.get(task_id, 0), weak_counts.get(task_id, 0)
        out.append(
            {
                "labeling_task_id": task_id,
                "name": name,
                "manually_labeled": int(manual or 0),
                "weakly_supervised": int(weak or 0),
                "manually_labeled_ratio": (manual or 0) / total if total else 0.0,
                "weakly_supervised_ratio": (weak or 0) / total if total else 0.0,
            }
        )
    return {"records": total, "tasks": out}


def label_distribution(session: Session, scope: Scope, task: LabelingTask) -> list[dict[str, Any]]:
    """Per label of the task: valid manual and weak-supervision labels (records for classification, spans for
    extraction), absolute and as a share of the source's total.

    Classification reads the read model (``record_task_label``: one row per record and task, its decided manual
    labels as ``label:start:end`` texts) and the current weak-supervision version's rows (one per record, the same
    texts), grouped by their label sets; extraction counts label rows (spans)."""
    labels = session.execute(select(Label.id, Label.name).where(Label.labeling_task_id == task.id).order_by(Label.name)).all()
    counts: dict[tuple[str, uuid.UUID], int] = {}
    extraction = TaskType(task.task_type) == TaskType.INFORMATION_EXTRACTION
    weak_counted = scope.counted  # the current version's counts, kept with it (migration 0024)
    if weak_counted and task.id in scope.catalog.ws_versions:
        for label_id, n in ws_counts.label_counts(session, scope.catalog.ws_version(task.id), spans=extraction).items():
            counts[("weak_supervision", label_id)] = n
    if extraction:
        spans: tuple[tuple[str, Any], ...] = (
            ("manual", select(RLA.label_id, func.count()).where(*_valid_manual(task.id), scope.on(RLA.record_id))),
            ("weak_supervision", select(WSA.label_id, func.count()).where(*_ws(task.id), scope.on(WSA.record_id))),
        )
        for kind, query in spans[:1] if weak_counted else spans:
            for label_id, n in session.execute(query.group_by(query.selected_columns[0])).tuples():
                counts[(kind, label_id)] = int(n)
    else:  # the records per label set, split here
        sets: tuple[tuple[str, Any], ...] = (
            (
                "manual",
                select(RecordTaskLabel.decided, func.count())
                .where(
                    RecordTaskLabel.labeling_task_id == task.id,
                    RecordTaskLabel.decided.is_not(None),
                    scope.on(RecordTaskLabel.record_id),
                )
                .group_by(RecordTaskLabel.decided),
            ),
            (
                "weak_supervision",
                select(WSR.weak, func.count())
                .where(WSR.version_id == scope.catalog.ws_version(task.id), scope.on(WSR.record_id))
                .group_by(WSR.weak),
            ),
        )
        for kind, query in sets[:1] if weak_counted else sets:

            def label_sets(query: Any = query) -> list[list[Any]]:
                return [[list(signatures or []), int(n)] for signatures, n in session.execute(query).tuples()]

            if kind == "manual" and weak_counted:  # kept while the task's manual rows are unchanged (migration 0024)
                marks = str(kept_figures.manual_mark(session, task.id))
                found = kept_figures.cached(session, task.id, "label-distribution-manual", marks, label_sets)
            else:
                found = label_sets()
            for signatures, n in found:
                for signature in signatures:
                    key = (kind, uuid.UUID(signature.split(":", 1)[0]))
                    counts[key] = counts.get(key, 0) + int(n)
    totals = {kind: sum(n for (k, _), n in counts.items() if k == kind) for kind in ("manual", "weak_supervision")}
    return [
        {
            "label_id": label_id,
            "name": name,
            "manual": counts.get(("manual", label_id), 0),
            "weak_supervision": counts.get(("weak_supervision", label_id), 0),
            "manual_ratio": counts.get(("manual", label_id), 0) / totals["manual"] if totals["manual"] else 0.0,
            "weak_supervision_ratio": counts.get(("weak_supervision", label_id), 0) / totals["weak_supervision"]
            if totals["weak_supervision"]
            else 0.0,
        }
        for label_id, name in labels
    ]


def confidence_histogram(session: Session, scope: Scope, task: LabelingTask, bins: int) -> list[dict[str, Any]]:
    """Weak-supervision labels of the task by confidence, in ``bins`` equal bins over [0, 1] (1.0 in the last).

    A multi-class task (one weak-supervision label per record) reads its current version's rows (``confidence``,
    the (version, confidence) index); other tasks, whose labels each have their own confidence, one row per label."""
    multiclass = TaskType(task.task_type) == TaskType.MULTICLASS_CLASSIFICATION
    counted = None
    if scope.counted:  # the current version's counts, kept with it (migration 0024), where bins divides 100
        version = scope.catalog.ws_version(task.id)
        counted = ws_counts.confidence_bins(session, version, bins, per_label=not multiclass)
    if counted is not None:
        return [{"low": i / bins, "high": (i + 1) / bins, "count": counted.get(i, 0)} for i in range(bins)]
    if multiclass:
        confidence: Any = WSR.confidence
        where: tuple[ColumnElement[bool], ...] = (
            WSR.version_id == scope.catalog.ws_version(task.id),
            WSR.confidence.is_not(None),
            scope.on(WSR.record_id),
        )
    else:
        confidence = WSA.confidence
        where = (*_ws(task.id), WSA.confidence.is_not(None), scope.on(WSA.record_id))
    bucket = func.least(func.floor(cast(confidence, Float) * bins), bins - 1)
    found = session.execute(select(bucket, func.count()).where(*where).group_by(bucket)).all()
    rows: dict[int, int] = {int(b): int(n) for b, n in found}
    return [{"low": i / bins, "high": (i + 1) / bins, "count": int(rows.get(i, 0))} for i in range(bins)]


def confusion_matrix(session: Session, scope: Scope, task: LabelingTask) -> list[dict[str, Any]]:
    """Counts of (valid manual label, weak-supervision label) on manually labeled records.

    Classification pairs a record's labels; extraction pairs spans with the same tokens, a span only one side has
    pairs with OUTSIDE."""
    names: dict[uuid.UUID, str] = dict(
        session.execute(select(Label.id, Label.name).where(Label.labeling_task_id == task.id)).tuples().all()
    )
    manual = aliased(RLA)
    weak = aliased(WSA)
    is_manual = and_(
        manual.labeling_task_id == task.id,
        manual.source_type == SourceType.MANUAL,
        manual.is_valid_manual_label.is_(True),
        scope.on(manual.record_id),
    )
    if task.task_type != TaskType.INFORMATION_EXTRACTION:
        # the read model's row (decided labels) joined to the record's row of the current weak-supervision version:
        # every (decided label, weak-supervision label) pair of a record; the whole project's kept while the task's
        # manual rows and its current version are unchanged (computed by the weak-supervision job after its switch)
        version = scope.catalog.ws_version(task.id)
        if scope.counted:
            found = manual_vs_weak.confusion_pairs(session, task.id, version)
        else:
            query = manual_vs_weak.confusion_pairs_query(task.id, version, scope.on)
            found = [[a, b, int(n)] for a, b, n in session.execute(query)]
        rows: Any = [(uuid.UUID(a), uuid.UUID(b), n) for a, b, n in found]
    else:
        labeled = select(RLA.record_id).where(*_valid_manual(task.id), scope.on(RLA.record_id)).distinct()
        m = select(manual.record_id, manual.label_id, manual.token_start, manual.token_end).where(is_manual).subquery()
        w = (
            select(weak.record_id, weak.label_id, weak.token_start, weak.token_end)
            .where(weak.labeling_task_id == task.id, weak.record_id.in_(labeled))
            .subquery()
        )
        rows = session.execute(
            select(m.c.label_id, w.c.label_id, func.count())
            .select_from(m)
            .join(
                w,
                and_(m.c.record_id == w.c.record_id, m.c.token_start == w.c.token_start, m.c.token_end == w.c.token_end),
                full=True,
            )
            .group_by(m.c.label_id, w.c.label_id)
        ).all()
    return [
        {
            "manual": names.get(a, OUTSIDE) if a is not None else OUTSIDE,
            "weak_supervision": names.get(b, OUTSIDE) if b is not None else OUTSIDE,
            "count": int(n),
        }
        for a, b, n in sorted(rows, key=lambda row: (str(row[0]), str(row[1])))
    ]


def heuristic_figures(session: Session, scope: Scope, task: LabelingTask) -> list[dict[str, Any]]:
    """Per heuristic of the task, on the scope's records: coverage (records voted on), hits (votes), overlaps
    (records where another heuristic gave the same label) and conflicts (records where another gave another label).

    Read from the vote summary (one row per record with its votes as codes): each code is compared with the other
    codes of its record."""
    codes = ensure_vote_summary(session, task.id)
    if scope.group is None and codes.cached is not None:  # the whole project's figures, kept with the summary
        figures = {int(n): (c, o, k) for n, (c, o, k) in codes.cached["figures"].items()}
        hits = {uuid.UUID(source): n for source, n in codes.cached["hits"].items()}
    else:
        figures, hits = _figures(session, scope, task)
        if scope.group is None:
            cached = {"figures": {str(n): list(v) for n, v in figures.items()}, "hits": {str(s): n for s, n in hits.items()}}
            cache_figures(session, task.id, codes, cached)
    heuristics = session.execute(
        select(InformationSource.id, InformationSource.name)
        .where(InformationSource.labeling_task_id == task.id)
        .order_by(InformationSource.name)
    ).all()
    out = []
    for hid, name in heuristics:
        ordinal = codes.heuristics.get(str(hid))
        coverage, overlaps, conflicts = figures.get(ordinal, (0, 0, 0)) if ordinal is not None else (0, 0, 0)
        out.append(
            {
                "heuristic_id": hid,
                "name": name,
                "coverage": coverage,
                "hits": hits.get(hid, 0),
                "overlaps": overlaps,
                "conflicts": conflicts,
            }
        )
    return out


def _figures(session: Session, scope: Scope, task: LabelingTask) -> tuple[dict[int, tuple[int, int, int]], dict[uuid.UUID, int]]:
    """(coverage, overlaps, conflicts) per heuristic ordinal, and hits per heuristic, from the vote summary."""
    slot = LABEL_SLOTS
    summary = HeuristicVoteSummary
    code = func.unnest(summary.votes).table_valued("c").render_derived()
    other = func.unnest(summary.votes).table_valued("o").render_derived()
    heuristic = (code.c.c.op("/")(slot)).label("n")

    def others(same_label: bool) -> Any:
        label_test = (other.c.o % slot) == (code.c.c % slot) if same_label else (other.c.o % slot) != (code.c.c % slot)
        return (
            select(literal(1))
            .select_from(other)
            .where(label_test, (other.c.o.op("/")(slot)) != (code.c.c.op("/")(slot)))
            .exists()
        )

    per_record = (
        select(
            summary.record_id,
            heuristic,
            func.bool_or(others(True)).label("overlap"),
            func.bool_or(others(False)).label("conflict"),
        )
        .select_from(summary)
        .join(code, true())
        .where(summary.labeling_task_id == task.id, scope.on(summary.record_id))
        .group_by(summary.record_id, heuristic)
        .subquery()
    )
    query = select(
        per_record.c.n,
        func.count(),
        func.count().filter(per_record.c.overlap),
        func.count().filter(per_record.c.conflict),
    ).group_by(per_record.c.n)
    figures = {int(n): (int(c), int(o), int(k)) for n, c, o, k in session.execute(query)}
    ids = func.unnest(HeuristicResult.record_ids).table_valued("rid").render_derived()
    if scope.group is None:
        hit_query = select(HeuristicResult.source_id, func.sum(func.cardinality(HeuristicResult.record_ids))).group_by(
            HeuristicResult.source_id
        )
    else:
        hit_query = (
            select(HeuristicResult.source_id, func.count())
            .select_from(HeuristicResult)
            .join(ids, true())
            .where(scope.on(ids.c.rid))
            .group_by(HeuristicResult.source_id)
        )
    hits = {source: int(n or 0) for source, n in session.execute(hit_query.where(HeuristicResult.labeling_task_id == task.id))}
    return figures, hits

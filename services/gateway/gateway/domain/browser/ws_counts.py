"""Counts of weak-supervision versions kept with them (``weak_supervision_count``, migration 0024): what the
unscoped metrics read instead of a version's rows (one per record). The project cards' counts and the figures that
also depend on manual labels (``metric_cache``) are in ``shared_model.kept_figures``.

Statement triggers on ``weak_supervision_result`` append signed deltas on every write (whoever writes), so a version's
figures are the sums of its rows: a few hundred rows read through the version's index, whatever its number of records.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session

from shared_model.models import WeakSupervisionCount as Count

FINE_BINS = 100  # the confidence keys are exact for a histogram whose number of bins divides this


def label_counts(session: Session, version: uuid.UUID, *, spans: bool) -> dict[uuid.UUID, int]:
    """Per label of the version: its signatures (records, for classification) or, with ``spans``, its label entries
    (spans, for extraction)."""
    column = Count.labels if spans else Count.signatures
    found = session.execute(
        select(Count.label_id, func.sum(column))
        .where(Count.version_id == version, Count.label_id.is_not(None))
        .group_by(Count.label_id)
    ).tuples()
    return {label: int(n) for label, n in found if label is not None and n}


def confidence_bins(session: Session, version: uuid.UUID, bins: int, *, per_label: bool) -> dict[int, int] | None:
    """The version's histogram in ``bins`` equal bins as the exact query buckets values (``least(floor(c * bins),
    bins - 1)``, values without a confidence left out): of its rows' highest confidences, or with ``per_label`` of
    every label's confidence. None where ``bins`` does not divide :data:`FINE_BINS` (the caller counts rows)."""
    if bins < 1 or FINE_BINS % bins:
        return None
    column = Count.labels if per_label else Count.records
    bucket = func.least(func.floor(cast(Count.confidence, Float) * bins), bins - 1)
    found: Any = session.execute(
        select(bucket, func.sum(column))
        .where(Count.version_id == version, Count.label_id.is_(None), Count.confidence.is_not(None))
        .group_by(bucket)
    ).tuples()
    return {int(b): int(n) for b, n in found if n}

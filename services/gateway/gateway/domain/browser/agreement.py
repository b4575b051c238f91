"""Inter-annotator agreement of a labeling task: per annotator pair (percent agreement, Cohen's kappa) and overall
(percent agreement and Krippendorff's alpha, nominal), over the manual labels kept per annotator.

Units and values:
- classification: a unit is a record, an annotator's value their label (multi-label: their label *set*, one nominal
  value, so {a, b} and {a} disagree);
- extraction: a unit is a token of a record, an annotator's value the label of their span covering it or ``OUTSIDE``;
  the units are the tokens some annotator's span covers on records labeled by two or more annotators (tokens no one
  labeled are left out, so plain text does not inflate agreement).
Only annotators who labeled a record rate it; records with fewer than two annotators do not count. Percent agreement
overall is the share of agreeing pairs of values within units (Krippendorff's observed agreement); kappa and alpha
are ``None`` where undefined (a single category: no expected disagreement).
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared_model.models import LabelingTask, SourceType, TaskType, User
from shared_model.models import RecordLabelAssociation as RLA

OUTSIDE = "OUTSIDE"


def percent_agreement(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """The share of units on which two raters agree (None for no units)."""
    if not a:
        return None
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters' values on the same units (as scikit-learn's ``cohen_kappa_score``); None when
    undefined (no units, or both always gave one and the same value)."""
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[c] * count_b[c] for c in count_a) / (n * n)
    if expected == 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def coincidences(units: Sequence[Sequence[Hashable]]) -> tuple[dict[tuple[Hashable, Hashable], float], float]:
    """Krippendorff's coincidence matrix of units' values (units with fewer than two values are not pairable) and its
    total n."""
    matrix: dict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for i, j in itertools.permutations(range(m), 2):
            matrix[(values[i], values[j])] += 1.0 / (m - 1)
    return matrix, sum(matrix.values())


def krippendorff_alpha_nominal(units: Sequence[Sequence[Hashable]]) -> float | None:
    """Krippendorff's alpha for nominal data: 1 - D_o / D_e over the coincidences; None when undefined."""
    matrix, n = coincidences(units)
    if n <= 1:
        return None
    marginals: dict[Hashable, float] = defaultdict(float)
    for (c, _), value in matrix.items():
        marginals[c] += value
    observed = 1.0 - sum(v for (c, k), v in matrix.items() if c == k) / n
    expected = 1.0 - sum(nc * (nc - 1) for nc in marginals.values()) / (n * (n - 1))
    if expected == 0.0:
        return None
    return 1.0 - observed / expected


def pairwise_agreement(units: Sequence[Sequence[Hashable]]) -> float | None:
    """The share of agreeing pairs of values within units (the coincidences' diagonal over n)."""
    matrix, n = coincidences(units)
    if n == 0:
        return None
    return sum(v for (c, k), v in matrix.items() if c == k) / n


def _unit_values(task_type: TaskType, rows: list[Any]) -> dict[Any, dict[uuid.UUID, Hashable]]:
    """unit -> annotator -> value, for records with two or more annotators."""
    per_record: dict[int, dict[uuid.UUID, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        per_record[row.record_id][row.created_by].append(row)
    units: dict[Any, dict[uuid.UUID, Hashable]] = {}
    for record_id, by_user in per_record.items():
        if len(by_user) < 2:
            continue
        if task_type == TaskType.MULTICLASS_CLASSIFICATION:
            for user, mine in by_user.items():
                units.setdefault(record_id, {})[user] = str(min(r.label_id for r in mine))
        elif task_type == TaskType.MULTILABEL_CLASSIFICATION:
            for user, mine in by_user.items():
                units.setdefault(record_id, {})[user] = "+".join(sorted({str(r.label_id) for r in mine}))
        else:
            tokens: dict[uuid.UUID, dict[int, str]] = {}
            for user, mine in by_user.items():
                covered: dict[int, str] = {}
                for r in sorted(mine, key=lambda x: (x.token_start or 0, x.token_end or 0)):
                    for t in range(r.token_start or 0, r.token_end or 0):
                        covered.setdefault(t, str(r.label_id))  # overlapping spans: the earlier one
                tokens[user] = covered
            for t in sorted({t for covered in tokens.values() for t in covered}):
                units[(record_id, t)] = {user: covered.get(t, OUTSIDE) for user, covered in tokens.items()}
    return units


def agreement(session: Session, task: LabelingTask, records: Any | None, include_gold_starred: bool = True) -> dict[str, Any]:
    """The task's agreement figures; ``records`` a select of record ids to look at (None: all)."""
    query = select(RLA.record_id, RLA.created_by, RLA.label_id, RLA.token_start, RLA.token_end).where(
        RLA.labeling_task_id == task.id, RLA.source_type == SourceType.MANUAL, RLA.created_by.is_not(None)
    )
    several = (
        select(RLA.record_id)
        .where(RLA.labeling_task_id == task.id, RLA.source_type == SourceType.MANUAL, RLA.created_by.is_not(None))
        .group_by(RLA.record_id)
        .having(func.count(RLA.created_by.distinct()) > 1)
    )
    if not include_gold_starred:
        several = several.having(func.bool_or(RLA.is_gold_star).is_(False))
    query = query.where(RLA.record_id.in_(several))
    if records is not None:
        query = query.where(RLA.record_id.in_(records))
    units = _unit_values(task.task_type, list(session.execute(query).all()))
    annotators = sorted({user for values in units.values() for user in values}, key=str)
    emails = (
        dict(session.execute(select(User.id, User.email).where(User.id.in_(annotators))).tuples().all()) if annotators else {}
    )
    per_annotator: Counter[uuid.UUID] = Counter()
    record_units: dict[uuid.UUID, set[Any]] = defaultdict(set)
    for unit, values in units.items():
        record = unit[0] if isinstance(unit, tuple) else unit
        for user in values:
            record_units[user].add(record)
    for user, recs in record_units.items():
        per_annotator[user] = len(recs)
    pairs = []
    for a, b in itertools.combinations(annotators, 2):
        shared = [(values[a], values[b]) for values in units.values() if a in values and b in values]
        first, second = [x for x, _ in shared], [y for _, y in shared]
        pairs.append(
            {
                "annotator_a": a,
                "annotator_b": b,
                "email_a": emails.get(a, ""),
                "email_b": emails.get(b, ""),
                "records": len({u[0] if isinstance(u, tuple) else u for u, v in units.items() if a in v and b in v}),
                "units": len(shared),
                "percent_agreement": percent_agreement(first, second),
                "cohen_kappa": cohen_kappa(first, second),
            }
        )
    value_lists = [list(values.values()) for values in units.values()]
    kappas = [float(k) for k in (p["cohen_kappa"] for p in pairs) if isinstance(k, float)]
    return {
        "labeling_task_id": task.id,
        "task_type": str(task.task_type),
        "unit": "token" if task.task_type == TaskType.INFORMATION_EXTRACTION else "record",
        "annotators": [{"user_id": u, "email": emails.get(u, ""), "records": per_annotator[u]} for u in annotators],
        "pairs": pairs,
        "overall": {
            "records": len({u[0] if isinstance(u, tuple) else u for u in units}),
            "units": len(units),
            "percent_agreement": pairwise_agreement(value_lists),
            "krippendorff_alpha": krippendorff_alpha_nominal(value_lists),
            "mean_cohen_kappa": sum(kappas) / len(kappas) if kappas else None,
        },
    }

"""Helpers the adapters share: finding a task's export columns, and label values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..exceptions import RefineryError

if TYPE_CHECKING:
    import pandas as pd


def task_prefix(frame: pd.DataFrame, task: str) -> str:
    """The ``{attr}__{task}`` column prefix of a labeling task given as ``attr__task``, ``__task`` or ``task``."""
    if f"{task}__MANUAL" in frame.columns:
        return task
    matches = [c[: -len("__MANUAL")] for c in frame.columns if c.endswith(f"__{task}__MANUAL")]
    if len(matches) == 1:
        return matches[0]
    tasks = sorted({c[: -len("__MANUAL")] for c in frame.columns if c.endswith("__MANUAL")})
    raise RefineryError(f"the export has no single labeling task {task!r} (tasks: {', '.join(tasks) or 'none'})")


def present(value: Any) -> bool:
    """Whether an export cell holds a label (not None/NaN/empty, nor a token array of only ``OUTSIDE``)."""
    if value is None:
        return False
    if isinstance(value, float):
        return value == value
    if isinstance(value, list | tuple):
        return any(tag != "OUTSIDE" for tag in value) if all(isinstance(t, str) for t in value) else len(value) > 0
    if isinstance(value, str):
        return len(value) > 0
    return True


def split_manual_weak(frame: pd.DataFrame, prefix: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): train = records with a weak-supervision label and no manual label, labelled by weak supervision;
    test = records with a manual label, labelled by it. A ``label`` column holds the label used."""
    manual = frame[f"{prefix}__MANUAL"].map(present)
    weak = frame[f"{prefix}__WEAK_SUPERVISION"].map(present)
    test = frame[manual].copy()
    test["label"] = test[f"{prefix}__MANUAL"]
    train = frame[weak & ~manual].copy()
    train["label"] = train[f"{prefix}__WEAK_SUPERVISION"]
    return train.reset_index(drop=True), test.reset_index(drop=True)


def spans_from_tags(tags: list[str] | None) -> list[tuple[str, int, int]]:
    """``(label, start_token, end_token)`` spans (end exclusive) from an export's ``B-x`` / ``I-x`` / ``OUTSIDE`` array."""
    spans: list[tuple[str, int, int]] = []
    if not tags:
        return spans
    current: list[Any] | None = None
    for i, tag in enumerate(tags):
        if tag.startswith("B-") or (tag.startswith("I-") and (current is None or current[0] != tag[2:])):
            if current is not None:
                spans.append((current[0], current[1], i))
            current = [tag[2:], i]
        elif not tag.startswith("I-"):
            if current is not None:
                spans.append((current[0], current[1], i))
            current = None
    if current is not None:
        spans.append((current[0], current[1], len(tags)))
    return spans


def chosen(row: Any, prefix: str, source: str) -> Any:
    """The row's label for ``source``: MANUAL, WEAK_SUPERVISION, or auto (manual, else weak supervision)."""
    if source == "auto":
        manual = row.get(f"{prefix}__MANUAL")
        return manual if present(manual) else row.get(f"{prefix}__WEAK_SUPERVISION")
    return row.get(f"{prefix}__{source}")

"""scikit-learn train/test sets: train from weak supervision, test from manual labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._common import split_manual_weak, task_prefix

if TYPE_CHECKING:
    from ..client import Client


def build_classification_dataset(
    client: Client, sentence_input: str, classification_label: str, num_train: int | None = None
) -> dict[str, dict[str, Any]]:
    """``{"train": {...}, "test": {...}}``, each with ``inputs`` (the ``sentence_input`` texts), ``labels`` and
    ``index`` (primary keys). Train = records weak supervision labelled and nobody labelled by hand (first
    ``num_train`` of them); test = manually labelled records. ``classification_label``: ``attr__task``, ``__task`` or
    the task's name. Feed ``inputs`` to a vectorizer (e.g. TfidfVectorizer) and ``labels`` to any classifier."""
    frame = client.get_record_export(tokenize=False)
    prefix = task_prefix(frame, classification_label)
    train, test = split_manual_weak(frame, prefix)
    if num_train is not None:
        train = train.head(num_train)
    keys = client.get_primary_keys()
    return {
        name: {
            "inputs": part[sentence_input].tolist(),
            "labels": part["label"].tolist(),
            "index": part[keys].to_dict("records") if keys else list(range(len(part))),
        }
        for name, part in (("train", train), ("test", test))
    }

"""Hugging Face ``datasets``: a DatasetDict with train (weak supervision) and test (manual labels) splits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._common import split_manual_weak, task_prefix

if TYPE_CHECKING:
    from ..client import Client


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise ImportError(
            "the Hugging Face adapter needs the 'datasets' package: pip install 'refinery-sdk[hf]' (or pip install datasets)"
        ) from None
    return datasets


def build_classification_dataset(
    client: Client, sentence_input: str, classification_label: str, num_train: int | None = None
) -> Any:
    """A ``datasets.DatasetDict`` with ``train`` (weakly supervised records without a manual label) and ``test``
    (manually labelled records), each with ``text``, ``label`` (a ClassLabel in the task's label order) and the
    primary-key columns. ``classification_label``: ``attr__task``, ``__task`` or the task's name."""
    datasets = _datasets()
    frame = client.get_record_export(tokenize=False)
    prefix = task_prefix(frame, classification_label)
    task_name = prefix.split("__", 1)[1]
    names = [label["name"] for label in client.get_labels(task_name)]
    train, test = split_manual_weak(frame, prefix)
    if num_train is not None:
        train = train.head(num_train)
    keys = [k for k in client.get_primary_keys() if k != sentence_input]
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)}
        | {k: datasets.Value("string") for k in keys}
    )

    def split(part: Any) -> Any:
        columns: dict[str, list[Any]] = {
            "text": part[sentence_input].astype(str).tolist(),
            "label": [names.index(v) for v in part["label"]],
        }
        for key in keys:
            columns[key] = part[key].astype(str).tolist()
        return datasets.Dataset.from_dict(columns, features=features)

    return datasets.DatasetDict({"train": split(train), "test": split(test)})

"""spaCy DocBin for extraction tasks (entities from the export's B-/I-/OUTSIDE arrays), with classification tasks as
``doc.cats``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._common import chosen, present, spans_from_tags, task_prefix

if TYPE_CHECKING:
    from ..client import Client


def build_docbin(
    client: Client,
    text_name: str,
    extraction_task: str,
    path: str | os.PathLike[str] | None = None,
    source: str = "auto",
    categories_tasks: Sequence[str] = (),
    only_labelled: bool = True,
) -> Any:
    """A ``spacy.tokens.DocBin`` of the ``text_name`` texts, tokenized with the project's tokenizer (the tokens the
    spans refer to), ``doc.ents`` from ``extraction_task`` (``source``: ``auto`` = manual, else weak supervision; or
    ``MANUAL`` / ``WEAK_SUPERVISION``) and ``doc.cats`` from ``categories_tasks``. ``only_labelled`` skips records
    without spans for the task. Written to ``path`` (``.spacy``) when given."""
    from spacy.tokens import DocBin, Span

    frame = client.get_record_export(tokenize=True)
    prefix = task_prefix(frame, extraction_task)
    category_prefixes = [task_prefix(frame, task) for task in categories_tasks]
    category_labels = {p: [label["name"] for label in client.get_labels(p.split("__", 1)[1])] for p in category_prefixes}
    docbin = DocBin(store_user_data=False)
    for row in frame.to_dict("records"):
        tags = chosen(row, prefix, source)
        if only_labelled and not present(tags):
            continue
        doc = row[f"{text_name}__tokenized"]
        spans = spans_from_tags(tags if present(tags) else None)
        doc.ents = [Span(doc, start, end, label=label) for label, start, end in spans if end <= len(doc)]
        for category_prefix in category_prefixes:
            value = chosen(row, category_prefix, source)
            for name in category_labels[category_prefix]:
                doc.cats[name] = 1.0 if (value == name or (isinstance(value, list) and name in value)) else 0.0
        docbin.add(doc)
    if path is not None:
        docbin.to_disk(Path(path))
    return docbin

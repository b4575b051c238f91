"""Rasa ``nlu.yml``: intents from a classification task, entities as ``[text](entity)`` markup from an extraction
task, and the project's lookup lists as lookup tables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._common import chosen, present, spans_from_tags, task_prefix

if TYPE_CHECKING:
    from ..client import Client


def _markup(doc: Any, spans: list[tuple[str, int, int]]) -> str:
    text: str = doc.text
    for label, start, end in sorted(spans, key=lambda s: s[1], reverse=True):
        if end > len(doc) or start >= end:
            continue
        span = doc[start:end]
        text = f"{text[: span.start_char]}[{span.text}]({label}){text[span.end_char :]}"
    return text


def _line(text: str) -> str:
    return " ".join(str(text).split())


def build_intent_yaml(
    client: Client,
    text_name: str,
    intent_label_task: str,
    tokenized_label_task: str | None = None,
    dir_name: str | os.PathLike[str] = "data",
    file_name: str = "nlu.yml",
    source: str = "auto",
    lookup_lists: bool = True,
) -> Path:
    """Write ``dir_name/file_name`` (Rasa 3 NLU format) and return its path.

    Each record with an intent (``source``: ``auto`` = manual label, else weak supervision; or ``MANUAL`` /
    ``WEAK_SUPERVISION``) becomes an example of that intent; the spans of ``tokenized_label_task`` (an extraction task
    on ``text_name``) are marked up as ``[text](entity)``; with ``lookup_lists`` every lookup list becomes a
    ``lookup:`` table of its non-blacklisted terms.
    """
    frame = client.get_record_export(tokenize=tokenized_label_task is not None)
    intent_prefix = task_prefix(frame, intent_label_task)
    entity_prefix = task_prefix(frame, tokenized_label_task) if tokenized_label_task else None
    intents: dict[str, list[str]] = {}
    for row in frame.to_dict("records"):
        intent = chosen(row, intent_prefix, source)
        if not present(intent):
            continue
        example = str(row[text_name])
        if entity_prefix is not None:
            example = _markup(row[f"{text_name}__tokenized"], spans_from_tags(chosen(row, entity_prefix, source)))
        intents.setdefault(str(intent), []).append(_line(example))
    lines = ['version: "3.1"', "nlu:"]
    for intent, examples in intents.items():
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {example}" for example in examples]
    if lookup_lists:
        for lookup in client.get_lookup_lists():
            terms = [_line(t["value"]) for t in lookup["terms"] if not t.get("blacklisted")]
            if terms:
                lines += [f"- lookup: {lookup['name']}", "  examples: |"] + [f"    - {term}" for term in terms]
    folder = Path(dir_name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

"""The tokenizer an imported project gets: the snapshot's when the tokenizer service has it, else a fallback with a note."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shared_model.service import ProblemError

from ...clients import ServiceClient

DEFAULT_TOKENIZER = "en"


_PIPELINE_PACKAGE = re.compile(r"^([a-z]{2,3})_\w+$")


async def unavailable_tokenizer(tokenizer: str) -> str | None:
    """A note when the tokenizer service does not know ``tokenizer`` (the project then uses the default), else None."""
    if tokenizer == DEFAULT_TOKENIZER:
        return None
    try:
        await ServiceClient("tokenizer").json("POST", "/validate_tokenizer", json={"tokenizer": tokenizer})
    except ProblemError as exc:
        if exc.status != 422:
            raise
        return f"tokenizer {tokenizer!r} is not available here ({exc.detail}); the project uses {DEFAULT_TOKENIZER!r}"
    return None


MISSING_PIPELINE = "missing_pipeline"  # project.settings key: the snapshot's spaCy pipeline that is not installed here


def pipeline_warning(package: str, used: str) -> str:
    """What a project whose requested spaCy pipeline is not installed shows, with the command that installs it."""
    return (
        f"spaCy pipeline {package!r} is not installed here: records are tokenized with the blank {used!r} pipeline (the"
        " same tokenization rules, but no part-of-speech tags, lemmas or entities: labeling functions that use them find"
        f" nothing). Install it where the tokenizer service runs: `.venv/bin/python -m spacy download {package}`, restart"
        f' the tokenizer, then PUT /api/v1/projects/{{project_id}}/tokenizer {{"tokenizer": "{package}"}}'
    )


@dataclass(frozen=True)
class TokenizerChoice:
    """The tokenizer a snapshot's project gets: ``tokenizer``; ``note`` why it differs from the snapshot's, and
    ``missing_pipeline`` the snapshot's spaCy pipeline package when it is not installed here."""

    tokenizer: str
    note: str | None = None
    missing_pipeline: str | None = None


async def choose_tokenizer(value: Any) -> TokenizerChoice:
    """The snapshot's tokenizer when the tokenizer service has it; an uninstalled pipeline package falls back to the
    blank pipeline of its language (with a warning naming the install command), an unknown name to the default."""
    name = str(value or "").strip() or DEFAULT_TOKENIZER
    match = _PIPELINE_PACKAGE.match(name)
    if match:
        if await unavailable_tokenizer(name) is None:
            return TokenizerChoice(name)
        return TokenizerChoice(match.group(1), pipeline_warning(name, match.group(1)), name)
    note = await unavailable_tokenizer(name)
    return TokenizerChoice(DEFAULT_TOKENIZER, note) if note else TokenizerChoice(name)


def tokenizer_for(value: Any, notes: list[str]) -> str:
    """Our tokenizer setting for the snapshot's: a spaCy pipeline package becomes its language code (same rules)."""
    name = str(value or "").strip() or DEFAULT_TOKENIZER
    match = _PIPELINE_PACKAGE.match(name)
    if match:
        notes.append(f"tokenizer {name!r} imported as {match.group(1)!r} (the same tokenization rules)")
        return match.group(1)
    return name

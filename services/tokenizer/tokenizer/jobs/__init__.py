"""The jobs the tokenizer service runs, by kind."""

from __future__ import annotations

from shared_model.jobs import Handler

from .tokenize_project import run_tokenize_project

HANDLERS: dict[str, Handler] = {
    "tokenize_project": run_tokenize_project,
}

"""The jobs the embedder runs, by kind."""

from __future__ import annotations

from shared_model.jobs import Handler

from ..zero_shot import run_zero_shot
from .embed import embed

HANDLERS: dict[str, Handler] = {"embed": embed, "zero_shot": run_zero_shot}

"""The executor's jobs: full heuristic runs and attribute calculations."""

from __future__ import annotations

from shared_model.jobs import Handler

from .attribute_calculation import attribute_calculation
from .heuristic_run import heuristic_run

HANDLERS: dict[str, Handler] = {
    "heuristic_run": heuristic_run,
    "attribute_calculation": attribute_calculation,
}

"""refinery weak_supervisor: Heuristic statistics and label models (weak supervision)."""

__version__ = "0.1.0"

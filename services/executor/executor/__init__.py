"""refinery executor: Sandboxed execution of user code (labeling functions, attribute calculation, record IDE)."""

__version__ = "0.1.0"

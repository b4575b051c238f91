"""refinery embedder: Embeddings of records and tokens."""

__version__ = "0.1.0"

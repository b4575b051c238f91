"""refinery neural_search: Similarity search and outlier detection over embeddings."""

__version__ = "0.1.0"

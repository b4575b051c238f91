"""refinery tokenizer: spaCy tokenization of records into DocBins."""

__version__ = "0.1.0"

"""Uploads: readers of JSON, JSONL, CSV and XLSX files, type inference and the one-transaction COPY loader."""

from .cells import FORMATS, UploadError, file_format
from .loader import UploadPlan, load_upload, schema_differences, split_columns
from .readers import read_head

__all__ = [
    "FORMATS",
    "UploadError",
    "UploadPlan",
    "file_format",
    "load_upload",
    "read_head",
    "schema_differences",
    "split_columns",
]

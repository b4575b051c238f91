"""Unit tests of the DocBin encoder and pipeline resolution (no service process)."""

from __future__ import annotations

import zlib

import pytest
import spacy
import srsly
from spacy.tokens import DocBin

from tokenizer.docbin import DocBinEncoder, compress, decode, token_rows
from tokenizer.pipelines import UnknownTokenizer, describe, get_nlp


def test_blank_encoding_round_trips_through_spacy_docbin() -> None:
    nlp = spacy.blank("en")
    texts = ["Apple's shares  rose 3% in 2021.", "", "  leading spaces and\ttabs\n", "naïve café — ünïcode ✓"]
    docs = list(nlp.pipe(texts))
    data = DocBinEncoder(nlp).encode(docs)
    fresh = spacy.blank("en")  # a new vocab: every string must travel in the bytes
    back = list(DocBin().from_bytes(data).get_docs(fresh.vocab))
    assert [d.text for d in back] == texts
    for original, restored in zip(docs, back, strict=True):
        assert [t.text for t in original] == [t.text for t in restored]
        assert [t.whitespace_ for t in original] == [t.whitespace_ for t in restored]
        assert [t.idx for t in original] == [t.idx for t in restored]


def test_pipeline_with_components_keeps_entities() -> None:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "ORG", "pattern": "T. Rowe Price"}])  # type: ignore[attr-defined]
    doc = nlp("T. Rowe Price dips")
    encoder = DocBinEncoder(nlp)
    assert not encoder.blank
    data = encoder.encode([doc])
    restored = decode(data, spacy.blank("en"))[0]
    rows = token_rows(restored)
    assert [r["ent_type"] for r in rows] == ["ORG", "ORG", "ORG", None]
    assert rows[1] == {"i": 1, "text": "Rowe", "idx": 3, "end": 7, "whitespace": " ", "ent_type": "ORG"}


def test_encoded_bytes_equal_spacys_own_message() -> None:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "X", "pattern": "b"}])  # type: ignore[attr-defined]
    docs = [nlp("a b c"), nlp("d")]
    reference = DocBin(store_user_data=False)
    for doc in docs:
        reference.add(doc)
    # same message, different zlib settings: the decompressed payloads are identical
    assert zlib.decompress(DocBinEncoder(nlp).encode(docs)) == zlib.decompress(reference.to_bytes())


def test_compress_is_plain_zlib() -> None:
    # empty, one block, exactly one full stored block, and several blocks
    for payload in (b"", b"abc" * 1000, bytes(range(256)) * 255 + b"x" * 255, bytes(range(256)) * 1000):
        assert zlib.decompress(compress(payload)) == payload


def test_blank_message_is_spacys_docbin_message() -> None:
    nlp = spacy.blank("en")
    encoder = DocBinEncoder(nlp)
    for texts in (["Apple's shares  rose 3%."], [""], ["a b", "c  d e", ""]):
        docs = [nlp(t) for t in texts]
        reference = DocBin(attrs=["ORTH"], store_user_data=False)
        for doc in docs:
            reference.add(doc)
        ours = srsly.msgpack_loads(zlib.decompress(encoder.encode(docs)))
        theirs = srsly.msgpack_loads(zlib.decompress(reference.to_bytes()))
        # the token texts are what get_docs needs; spaCy also stores strings of unused attributes ("", norms)
        strings = set(ours.pop("strings"))
        assert strings == {t.text for doc in docs for t in doc} and strings <= set(theirs.pop("strings"))
        assert ours == theirs


def test_pipeline_resolution() -> None:
    assert describe("en").as_dict() == {"name": "en", "kind": "blank", "language": "en", "pipes": []}
    assert get_nlp("en") is get_nlp("en")
    for bad in ("qq", "en_core_web_nonexistent", "../../etc", "/tmp/model"):
        with pytest.raises(UnknownTokenizer, match="neither"):
            get_nlp(bad)

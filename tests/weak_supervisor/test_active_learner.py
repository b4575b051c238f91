"""The evaluation CLI's active learner: the interface's semantics (train_test_split, min_confidence, label_names,
honest out-of-fold votes) and ``--active-learner`` end to end on a small WRENCH folder with the real MiniLM model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shared_model.learner_interface import (
    LearningClassifier,
    fit_params,
    inference_params,
    params_fit,
    params_inference,
)
from weak_supervisor.active_learner import default_learner, learner_column, learner_proba
from weak_supervisor.evaluate import main


def test_interface_defaults_and_decorated_values() -> None:
    class Bare(LearningClassifier):
        def fit(self, embeddings: Any, labels: Any) -> None: ...

    class Decorated(LearningClassifier):
        @params_fit(embedding_name="text-classification-x", train_test_split=0.3)
        def fit(self, embeddings: Any, labels: Any) -> None: ...

        @params_inference(min_confidence=0.6, label_names=["a"])
        def predict_proba(self, embeddings: Any) -> Any: ...

    assert fit_params(Bare)["train_test_split"] == 0.5 and inference_params(Bare) == {
        "min_confidence": 0.8,
        "label_names": None,
    }
    assert fit_params(Decorated) == {"embedding_name": "text-classification-x", "train_test_split": 0.3}
    assert inference_params(Decorated) == {"min_confidence": 0.6, "label_names": ["a"]}


def random_task(n: int = 300, labeled: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise vectors with random labels: nothing generalises, so only memorised records are predicted right."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 256)).astype(np.float32)  # more dimensions than labeled rows: separable
    truth = rng.integers(0, 2, n)
    labels = np.full(n, -1)
    labels[:labeled] = truth[:labeled]
    return x, truth, labels


def test_train_test_split_training_rows_get_no_vote() -> None:
    x, _, labels = random_task()

    class Half(LearningClassifier):
        def __init__(self) -> None:
            from sklearn.linear_model import LogisticRegression

            self.model = LogisticRegression()

        @params_fit(embedding_name="e", train_test_split=0.25)
        def fit(self, embeddings: Any, labels: Any) -> None:
            self.model.fit(embeddings, labels)

        def predict_proba(self, embeddings: Any) -> Any:
            return self.model.predict_proba(embeddings)

    proba, training, predicted = learner_proba(Half, x, labels, 2)
    assert len(training) == 50 and set(training) <= set(range(200))
    assert not predicted[training].any() and predicted.sum() == 300 - 50
    column = learner_column(proba, predicted, training, 0.0)
    assert (column.votes[training] == -1).all()


def test_full_split_votes_on_manual_rows_are_out_of_fold() -> None:
    x, truth, labels = random_task()
    learner = default_learner(c=1000.0)  # memorises its training rows
    proba, training, predicted = learner_proba(learner, x, labels, 2)
    assert len(training) == 200 and predicted.all()
    on_manual = (proba[:200].argmax(axis=1) == truth[:200]).mean()
    assert on_manual < 0.7  # an in-sample vote would be right on ~100 % of them
    instance = learner()
    instance.fit(x[:200], labels[:200])
    assert (instance.model.predict(x[:200]) == truth[:200]).mean() > 0.95


def test_min_confidence_and_label_names() -> None:
    proba = np.asarray([[0.9, 0.1, 0.0], [0.5, 0.3, 0.2], [0.05, 0.05, 0.9], [0.1, 0.85, 0.05]])
    column = learner_column(proba, np.ones(4, dtype=bool), np.zeros(0, dtype=np.int64), 0.8)
    assert column.votes.tolist() == [0, -1, 2, 1] and column.confidence[0] == pytest.approx(0.9)
    column = learner_column(proba, np.ones(4, dtype=bool), np.zeros(0, dtype=np.int64), 0.8, allowed=[0, 1])
    assert column.votes.tolist() == [0, -1, -1, 1]
    assert learner_column(proba, np.ones(4, dtype=bool), np.zeros(0, dtype=np.int64), 0.9).votes.tolist() == [-1] * 4


SPAM = [
    "check out my channel and subscribe",
    "free gift cards at my website",
    "subscribe to win a free phone",
    "visit my page for cheap followers",
    "click this link to earn money fast",
    "follow me and win an iphone",
]
HAM = [
    "this song brings back memories",
    "her voice is beautiful",
    "the melody in the chorus is perfect",
    "i listen to this every morning",
    "best music video of the year",
    "the guitar solo gave me chills",
]


def wrench_folder(root: Path) -> Path:
    """train 36 / valid 24 / test 24 rows; one keyword function that only fires on a few spam rows."""
    folder = root / "tiny"
    folder.mkdir()
    (folder / "label.json").write_text(json.dumps({"0": "ham", "1": "spam"}))
    rows = [
        (f"{text} {suffix}", label)
        for suffix in ("", "!!", "today", "again", "lol", "now", "ok")
        for label, texts in ((1, SPAM), (0, HAM))
        for text in texts
    ]
    np.random.default_rng(0).shuffle(rows)
    splits = {"train": rows[:36], "valid": rows[36:60], "test": rows[60:84]}
    for split, items in splits.items():
        data = {
            str(i): {"label": label, "data": {"text": text}, "weak_labels": [1 if "subscribe" in text else -1]}
            for i, (text, label) in enumerate(items)
        }
        (folder / f"{split}.json").write_text(json.dumps(data))
    return folder


def test_cli_active_learner_joins_the_heuristics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = wrench_folder(tmp_path)
    assert main([str(folder), "--manual", "valid", "--model", "majority"]) == 0
    without = json.loads(capsys.readouterr().out.splitlines()[-1])
    cache = tmp_path / "cache"
    assert main([str(folder), "--manual", "valid", "--model", "majority", "--active-learner", "--cache", str(cache)]) == 0
    with_learner = json.loads(capsys.readouterr().out.splitlines()[-1])
    details = with_learner["active_learner"]
    assert details["trained_on"] == 24 and details["min_confidence"] in (0.5, 0.6, 0.7, 0.8, 0.9)
    assert set(details["cv_accuracy_plus_f1"]) == {"0.5", "0.6", "0.7", "0.8", "0.9"}
    assert without["accuracy"] < 80 and with_learner["accuracy"] >= 90  # the texts reach what the keyword misses
    assert len(list(cache.glob("*.npy"))) == 1

    assert (
        main(
            [
                str(folder),
                "--manual",
                "valid",
                "--model",
                "majority",
                "--active-learner",
                "--cache",
                str(cache),
                "--learner-min-confidence",
                "0.9",
            ]
        )
        == 0
    )
    fixed = json.loads(capsys.readouterr().out.splitlines()[-1])["active_learner"]
    assert fixed["min_confidence"] == 0.9 and "cv_accuracy_plus_f1" not in fixed and fixed["embed_s"] < 1.0


def test_cli_active_learner_needs_manual_labels_and_texts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = wrench_folder(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main([str(folder), "--active-learner"])
    assert exit_info.value.code == 2 and "use it with --manual valid" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(folder), "--manual", "valid", "--active-learner", "--learner-min-confidence", "1.5"])
    assert "must be auto or a number" in capsys.readouterr().err
    rows = json.loads((folder / "test.json").read_text())
    del rows["0"]["data"]
    (folder / "test.json").write_text(json.dumps(rows))
    assert main([str(folder), "--manual", "valid", "--active-learner"]) == 2
    assert "has no data.text" in capsys.readouterr().err

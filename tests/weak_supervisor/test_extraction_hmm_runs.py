"""The ``hmm`` extraction model through a weak-supervision run: token counts from the stored DocBins, spans written."""

from __future__ import annotations

import numpy as np
import pytest
import spacy
from spacy.tokens import Doc, DocBin
from sqlalchemy import update

from shared_model.db import session_scope
from shared_model.models import Attribute, DataType, LabelingTask, RecordTokenized, TaskType
from weak_supervisor.runs import run_weak_supervision
from weak_supervisor.span_hmm import fit_decode
from weak_supervisor.store import BadRequest

from .fixtures import build_task, weak_labels
from .test_span_hmm import synthetic

pytestmark = pytest.mark.usefixtures("clean_db")
LENGTH = 25


def _task(tokenize: bool):  # type: ignore[no-untyped-def]
    spans, _ = synthetic(n=40, length=LENGTH, seed=3)
    heuristics: dict[str, list[tuple[int, str, int, int]]] = {f"h{j}": [] for j in range(5)}
    for row, source, label, start, end in zip(spans.rows, spans.sources, spans.labels, spans.starts, spans.ends, strict=True):
        heuristics[f"h{source}"].append((int(row), ["PER", "LOC"][label], int(start), int(end)))
    built = build_task(TaskType.INFORMATION_EXTRACTION, ["PER", "LOC"], 40, heuristics)
    with session_scope() as s:
        s.add(Attribute(project_id=built.project_id, name="text", data_type=DataType.TEXT, relative_position=0))
        s.flush()
        attribute = s.query(Attribute).filter_by(project_id=built.project_id, name="text").one()
        s.execute(update(LabelingTask).where(LabelingTask.id == built.task_id).values(attribute_id=attribute.id))
        if tokenize:
            nlp = spacy.blank("en")
            for record_id in built.records:
                docs = DocBin(docs=[Doc(nlp.vocab, words=["w"] * LENGTH), Doc(nlp.vocab, words=["x"] * 3)])
                s.add(
                    RecordTokenized(
                        project_id=built.project_id,
                        record_id=record_id,
                        columns=["text", "other"],
                        bytes=docs.to_bytes(),
                        tokenizer="en",
                    )
                )
    return built, spans


def test_hmm_run_reads_token_counts_and_writes_the_decoded_spans() -> None:
    built, spans = _task(tokenize=True)
    summary = run_weak_supervision(built.task_id, {"extraction_model": "hmm"})
    rows = np.unique(spans.rows)
    assert summary["model_details"] == {"model": "hmm", "records_fitted": len(rows), "token_counts_estimated": 0}
    local = type(spans)(
        np.searchsorted(rows, spans.rows), spans.sources, spans.labels, spans.starts, spans.ends, spans.confidence
    )
    expected = fit_decode(local, np.full(len(rows), LENGTH), 5, 2)
    labels = {v: k for k, v in built.labels.items()}
    written = [(r[0], labels[r[1]], r[3], r[4]) for r in weak_labels(built.task_id)]
    assert sorted(written) == sorted((built.records[int(rows[a.row])], ["PER", "LOC"][a.label], a.start, a.end) for a in expected)
    assert summary["labels_written"] == len(expected) > 0


def test_hmm_without_tokens_falls_back_to_span_ends_and_bad_option_is_refused() -> None:
    built, spans = _task(tokenize=False)
    summary = run_weak_supervision(built.task_id, {"extraction_model": "hmm"})
    assert summary["model_details"]["token_counts_estimated"] == len(np.unique(spans.rows))
    assert all(0 <= r[3] < r[4] <= LENGTH for r in weak_labels(built.task_id))
    with pytest.raises(BadRequest, match="extraction_model must be one of spans, hmm"):
        run_weak_supervision(built.task_id, {"extraction_model": "crf"})
    reference = run_weak_supervision(built.task_id, {})
    assert reference["model_details"]["model"] == "spans"

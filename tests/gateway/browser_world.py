"""A project with varied data for the data-browser tests, and a plain-Python evaluation of a filter over it.

Records have an INTEGER key, a TEXT headline, a CATEGORY topic, a FLOAT score (missing on some) and a BOOLEAN flag.
Task "sentiment" (classification, whole record) gets manual labels from two annotators through the API (agreeing,
disagreeing, gold-starred), weak-supervision labels with confidences, three heuristics' votes and comments; task
"entities" (extraction on headline) gets spans. :func:`evaluate` applies a filter to the same data in Python.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from shared_model.db import session_scope
from shared_model.heuristic_results import ResultBuffer, store_session_results
from shared_model.models import Attribute, Comment, DataType, HeuristicResult, Record, ReturnType, SourceType
from shared_model.models import RecordLabelAssociation as RLA
from shared_model.models import WeakSupervisionAssociation as WSA

from .test_labeling import make_task, second_user

API = "/api/v1/projects"
WORDS = ["Apple", "apple", "stock", "Rises", "falls", "market", "50%", "under_score", "Ünïcode", "news", "sports"]
TOPICS = ["business", "Sports", "tech", "politics"]


@dataclass
class World:
    project_id: str
    records: dict[int, dict[str, Any]]
    types: dict[str, str]
    sentiment: dict[str, Any]
    entities: dict[str, Any]
    heuristics: dict[str, str]  # name -> id
    annotator: dict[str, str]  # bearer headers of the second annotator
    annotator_id: str
    admin_id: str
    rla: list[dict[str, Any]] = field(default_factory=list)
    votes: dict[str, dict[str, set[int]]] = field(default_factory=dict)  # heuristic -> label -> records
    heuristic_task: dict[str, str] = field(default_factory=dict)
    commented: set[int] = field(default_factory=set)

    def url(self, path: str) -> str:
        return f"{API}/{self.project_id}{path}"

    def reload(self) -> None:
        """Read labels back from the database (valid-label flags are computed by the gateway)."""
        with session_scope() as session:
            rows = session.scalars(select(RLA).where(RLA.project_id == uuid.UUID(self.project_id))).all()
            self.rla = [
                {
                    "record_id": r.record_id,
                    "task_id": str(r.labeling_task_id),
                    "label_id": str(r.label_id),
                    "source_type": str(r.source_type),
                    "confidence": r.confidence,
                    "created_by": str(r.created_by) if r.created_by else None,
                    "gold": r.is_gold_star,
                    "valid": r.is_valid_manual_label,
                    "span": (r.token_start, r.token_end),
                }
                for r in rows
            ]
            # weak-supervision labels: the current version's (migration 0023), one row per label
            weak = session.scalars(select(WSA).where(WSA.project_id == uuid.UUID(self.project_id))).all()
            self.rla += [
                {
                    "record_id": r.record_id,
                    "task_id": str(r.labeling_task_id),
                    "label_id": str(r.label_id),
                    "source_type": "WEAK_SUPERVISION",
                    "confidence": r.confidence,
                    "created_by": None,
                    "gold": False,
                    "valid": False,
                    "span": (r.token_start, r.token_end),
                }
                for r in weak
            ]
            self.votes = {}
            for chunk in session.scalars(select(HeuristicResult).where(HeuristicResult.project_id == uuid.UUID(self.project_id))):
                by_label = self.votes.setdefault(str(chunk.source_id), {})
                by_label.setdefault(str(chunk.label_id), set()).update(chunk.record_ids)
            self.records = {
                r.id: r.data for r in session.scalars(select(Record).where(Record.project_id == uuid.UUID(self.project_id)))
            }


def _add_records(pid: uuid.UUID, n: int, rng: random.Random) -> list[int]:
    """The attributes and ``n`` random records (about one in five without a score); their ids."""
    with session_scope() as session:
        for pos, (name, kind) in enumerate(
            [("key", DataType.INTEGER), ("headline", DataType.TEXT), ("topic", DataType.CATEGORY), ("score", DataType.FLOAT)]
            + [("flag", DataType.BOOLEAN)]
        ):
            session.add(Attribute(project_id=pid, name=name, data_type=kind, relative_position=pos, is_primary_key=pos == 0))
        rows = []
        for i in range(n):
            data: dict[str, Any] = {
                "key": i,
                "headline": " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))),
                "topic": rng.choice(TOPICS),
                "flag": rng.random() < 0.5,
            }
            if rng.random() < 0.8:
                data["score"] = round(rng.uniform(-5, 5), 2)
            rows.append(Record(project_id=pid, data=data))
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def _label_by_hand(client: TestClient, url: str, labels: list[str], annotator: dict[str, str], rng: random.Random) -> None:
    """Maybe a manual label by the admin, then maybe the annotator's (the same or another), then maybe a gold star."""
    if rng.random() >= 0.45:
        return
    first = rng.choice(labels)
    r = client.put(url + "/classification", json={"label_id": first})
    assert r.status_code == 200, r.text
    if rng.random() < 0.3:
        other = first if rng.random() < 0.5 else rng.choice(labels)
        r = client.put(url + "/classification", json={"label_id": other}, headers=annotator)
        assert r.status_code == 200, r.text
        if rng.random() < 0.3:
            assert client.put(url + "/gold-star").status_code == 200


def _add_label_rows(
    pid: uuid.UUID, ids: list[int], sentiment: dict[str, Any], entities: dict[str, Any], admin_id: str, rng: random.Random
) -> None:
    """Weak supervision (as the weak supervisor stores it) and extraction spans."""
    labels = list(sentiment["by_name"].values())
    with session_scope() as session:
        for rid in ids:
            if rng.random() < 0.7:
                session.add(
                    RLA(
                        project_id=pid,
                        record_id=rid,
                        labeling_task_id=uuid.UUID(sentiment["id"]),
                        label_id=uuid.UUID(rng.choice(labels)),
                        source_type=SourceType.WEAK_SUPERVISION,
                        return_type=ReturnType.RETURN,
                        confidence=round(rng.random(), 3),
                    )
                )
            if rng.random() < 0.3:
                for source in (SourceType.MANUAL, SourceType.WEAK_SUPERVISION):
                    start = rng.randint(0, 2)
                    session.add(
                        RLA(
                            project_id=pid,
                            record_id=rid,
                            labeling_task_id=uuid.UUID(entities["id"]),
                            label_id=uuid.UUID(rng.choice(list(entities["by_name"].values()))),
                            source_type=source,
                            return_type=ReturnType.YIELD,
                            confidence=0.9 if source == SourceType.WEAK_SUPERVISION else 1.0,
                            created_by=uuid.UUID(admin_id) if source == SourceType.MANUAL else None,
                            is_valid_manual_label=source == SourceType.MANUAL,
                            token_start=start,
                            token_end=start + 1,
                        )
                    )


def build_world(client: TestClient, project_id: str, n: int = 60, seed: int = 7) -> World:
    rng = random.Random(seed)
    pid = uuid.UUID(project_id)
    ids = _add_records(pid, n, rng)
    types = {"key": "INTEGER", "headline": "TEXT", "topic": "CATEGORY", "score": "FLOAT", "flag": "BOOLEAN"}
    sentiment = make_task(client, project_id, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg", "neu"])
    entities = make_task(client, project_id, "entities", "INFORMATION_EXTRACTION", "headline", ["PER", "ORG"])
    annotator = second_user(client, project_id, role="EXPERT")  # the second labeler: EXPERT, who may use the browser
    admin_id = client.get("/api/v1/auth/me").json()["id"]
    annotator_id = client.get("/api/v1/auth/me", headers=annotator).json()["id"]
    labels = list(sentiment["by_name"].values())
    task_url = f"{API}/{project_id}/records/{{}}/labeling-tasks/{sentiment['id']}"
    for rid in ids:
        _label_by_hand(client, task_url.format(rid), labels, annotator, rng)
    _add_label_rows(pid, ids, sentiment, entities, admin_id, rng)
    heuristics: dict[str, str] = {}
    heuristic_task: dict[str, str] = {}
    for name, task in (("h1", sentiment), ("h2", sentiment), ("h3", sentiment), ("e1", entities)):
        r = client.post(
            f"{API}/{project_id}/heuristics", json={"labeling_task_id": task["id"], "name": name, "type": "PRE_COMPUTED"}
        )
        assert r.status_code == 201, r.text
        heuristics[name] = r.json()["id"]
        heuristic_task[heuristics[name]] = task["id"]
    with session_scope() as session:
        for name, hid in heuristics.items():
            task = entities if name == "e1" else sentiment
            buffer = ResultBuffer()
            for rid in ids:
                if rng.random() < 0.5:
                    label = uuid.UUID(rng.choice(list(task["by_name"].values())))
                    if name == "e1":
                        buffer.add(rid, label, 0, 1)
                    else:
                        buffer.add(rid, label)
            store_session_results(session, pid, uuid.UUID(task["id"]), uuid.UUID(hid), buffer)
    commented: set[int] = set()
    for rid in rng.sample(ids, 8):
        r = client.post(f"{API}/{project_id}/comments", json={"target_type": "RECORD", "target_id": str(rid), "body": "look"})
        assert r.status_code == 201, r.text
        commented.add(rid)
    # a private comment of the annotator: the admin does not see it
    private = next(rid for rid in ids if rid not in commented)
    r = client.post(
        f"{API}/{project_id}/comments",
        json={"target_type": "RECORD", "target_id": str(private), "body": "mine", "is_private": True},
        headers=annotator,
    )
    assert r.status_code == 201, r.text
    with session_scope() as session:
        assert session.scalar(select(Comment.id).where(Comment.is_private.is_(True))) is not None
    world = World(project_id, {}, types, sentiment, entities, heuristics, annotator, annotator_id, admin_id)
    world.heuristic_task = heuristic_task
    world.commented = commented
    world.reload()
    return world


# --- evaluation in Python -------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c in "*%" else "." if c in "?_" else re.escape(c) for c in pattern), re.DOTALL)


def _compare(value: Any, op: str, args: list[Any]) -> bool:
    if op == "EQUAL":
        return bool(value == args[0])
    if op == "IN":
        return value in args
    if op == "BETWEEN":
        return bool(args[0] <= value <= args[1])
    return bool(
        {"GREATER": value > args[0], "GREATER_EQUAL": value >= args[0], "LESS": value < args[0], "LESS_EQUAL": value <= args[0]}[
            op
        ]
    )


def _attribute_on(world: World, data: dict[str, Any], name: str, cond: dict[str, Any], lenient: bool) -> bool:
    op, values = cond["operator"], cond["values"]
    value = data.get(name)
    if value is None:
        return False
    kind = world.types[name]
    if kind in ("INTEGER", "FLOAT") and op not in ("BEGINS_WITH", "ENDS_WITH", "CONTAINS", "IN_WC"):
        try:
            numbers = [Decimal(str(v)) for v in values if not isinstance(v, bool)]
        except ArithmeticError:
            return False
        if len(numbers) != len(values):
            return False
        return _compare(Decimal(str(value)), op, numbers)
    text = _text(value)
    texts = [_text(v) for v in values]
    if not cond.get("case_sensitive", False):
        text, texts = text.lower(), [t.lower() for t in texts]
    if op == "BEGINS_WITH":
        return text.startswith(texts[0])
    if op == "ENDS_WITH":
        return text.endswith(texts[0])
    if op == "CONTAINS":
        return texts[0] in text
    if op == "IN_WC":
        return any(_like(t).fullmatch(text) for t in texts)
    return _compare(text, op, texts)


def evaluate(world: World, node: dict[str, Any] | None, viewer: str | None = None) -> set[int]:
    """The records ``node`` selects, computed in Python from the world's data."""
    if node is None:
        return set(world.records)
    return {rid for rid in world.records if _matches(world, rid, node, viewer or world.admin_id)}


def _matches(world: World, rid: int, node: dict[str, Any], viewer: str) -> bool:
    kind = node.get("kind", "group")
    result = _raw(world, rid, node, kind, viewer)
    return not result if node.get("negate") else result


def _raw(world: World, rid: int, node: dict[str, Any], kind: str, viewer: str) -> bool:
    data = world.records[rid]
    rows = [r for r in world.rla if r["record_id"] == rid]
    if kind == "group":
        parts = [_matches(world, rid, child, viewer) for child in node.get("conditions", [])]
        if not parts:
            return True
        return all(parts) if node.get("join", "AND") == "AND" else any(parts)
    if kind == "attribute":
        if node.get("attribute") is None:
            return any(_attribute_on(world, data, name, node, True) for name in world.types)
        return _attribute_on(world, data, node["attribute"], node, False)
    if kind in ("manual_label", "gold_star", "weak_supervision", "manual_ws_differ", "annotators_disagree"):
        return _raw_labels(rows, node, kind)
    return _raw_votes(world, rid, node, kind)


def _raw_labels(rows: list[dict[str, Any]], node: dict[str, Any], kind: str) -> bool:
    """A filter on a record's manual and weakly supervised labels of one task."""
    task = node.get("task_id")
    manual = [r for r in rows if r["task_id"] == task and r["source_type"] == "MANUAL"]
    ws = [r for r in rows if r["task_id"] == task and r["source_type"] == "WEAK_SUPERVISION"]
    if kind == "manual_label":
        if node.get("annotator_id"):
            manual = [r for r in manual if r["created_by"] == node["annotator_id"]]
        if node.get("decided"):
            manual = [r for r in manual if r["valid"]]
        mode = node.get("mode", "any")
        if mode == "none":
            return not manual
        if mode == "labels":
            return any(r["label_id"] in node["label_ids"] for r in manual)
        return bool(manual)
    if kind == "gold_star":
        return any(r["gold"] for r in manual)
    if kind == "weak_supervision":
        mode = node.get("mode", "any")
        if mode == "none":
            return not ws
        low, high = node.get("min_confidence"), node.get("max_confidence")
        return any(
            (mode != "labels" or r["label_id"] in node["label_ids"])
            and (low is None or r["confidence"] >= low)
            and (high is None or r["confidence"] <= high)
            for r in ws
        )
    if kind == "manual_ws_differ":
        valid = {(r["label_id"], r["span"]) for r in manual if r["valid"]}
        weak = {(r["label_id"], r["span"]) for r in ws}
        return bool(valid) and bool(weak) and valid != weak
    if kind == "annotators_disagree":
        per_annotator: dict[Any, set[Any]] = {}
        for r in manual:
            per_annotator.setdefault(r["created_by"], set()).add((r["label_id"], r["span"]))
        return len({frozenset(labels) for labels in per_annotator.values()}) > 1
    raise AssertionError(kind)


def _raw_votes(world: World, rid: int, node: dict[str, Any], kind: str) -> bool:
    """A filter on the heuristics' votes on a record, or on its comments."""
    task = node.get("task_id")
    voted = {label: records for hid, by_label in world.votes.items() for label, records in by_label.items() if rid in records}
    if kind == "heuristic":
        mine = {label for label, records in world.votes.get(node["heuristic_id"], {}).items() if rid in records}
        mode = node.get("mode", "any")
        if mode == "none":
            return not mine
        if mode == "labels":
            return bool(mine & set(node["label_ids"]))
        return bool(mine)
    task_labels = {
        label
        for hid, by_label in world.votes.items()
        if world.heuristic_task[hid] == task
        for label, records in by_label.items()
        if rid in records
    }
    del voted
    if kind == "no_heuristic_voted":
        return not task_labels
    if kind == "heuristics_disagree":
        return len(task_labels) > 1
    if kind == "has_comments":
        return rid in world.commented
    raise AssertionError(kind)


def search_ids(client: TestClient, world: World, body: dict[str, Any], page: int = 7, **headers: Any) -> list[int]:
    """Every record id a search returns, fetched page by page."""
    found: list[int] = []
    cursor = None
    for _ in range(1000):
        r = client.post(world.url("/records/search"), json={**body, "limit": page, "cursor": cursor})
        assert r.status_code == 200, r.text
        out = r.json()
        found += [item["id"] for item in out["items"]]
        cursor = out["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("paging did not end")

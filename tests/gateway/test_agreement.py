"""Inter-annotator agreement through the API, against scikit-learn's cohen_kappa_score and the krippendorff package
on a fixed fixture, and Krippendorff's published example by hand."""

from __future__ import annotations

import math
import uuid
from typing import Any

import krippendorff
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import cohen_kappa_score

from gateway.domain.browser.agreement import cohen_kappa, krippendorff_alpha_nominal, pairwise_agreement
from shared_model.db import session_scope
from shared_model.models import RecordLabelAssociation, ReturnType, SourceType

from .test_label_resolution import me, three_annotators
from .test_labeling import API, classify, make_task, seed_records

# three annotators' labels on 12 records (None: not labeled by them)
FIXTURE = [
    ("pos", "pos", "pos"),
    ("pos", "neg", "pos"),
    ("neg", "neg", "neg"),
    ("neu", "neg", None),
    ("pos", "pos", "neu"),
    ("neg", "neg", "neg"),
    ("neu", "neu", "neu"),
    ("pos", None, "pos"),
    ("neg", "pos", "neg"),
    (None, "neu", "neu"),
    ("pos", "pos", None),
    ("neu", None, None),  # one annotator only: not in any figure
]


def test_kappa_and_alpha_match_scikit_learn_and_krippendorff(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    ids = seed_records(pid, [f"r{i}" for i in range(len(FIXTURE))])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg", "neu"])
    annotators = three_annotators(client, pid)
    for rid, labels in zip(ids, FIXTURE, strict=True):
        for headers, label in zip(annotators, labels, strict=True):
            if label is not None:
                assert classify(client, pid, rid, task, [label], headers=headers).status_code == 200
    users = [me(client, h) for h in annotators]

    response = client.get(f"{API}/{pid}/metrics/agreement", params={"task_id": task["id"]})
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["unit"] == "record" and found["overall"]["records"] == 11
    by_pair = {(p["annotator_a"], p["annotator_b"]): p for p in found["pairs"]}
    assert len(by_pair) == 3
    for i, j in ((0, 1), (0, 2), (1, 2)):
        shared = [(row[i], row[j]) for row in FIXTURE if row[i] is not None and row[j] is not None]
        a, b = [x for x, _ in shared], [y for _, y in shared]
        pair = by_pair.get((users[i], users[j])) or by_pair[(users[j], users[i])]
        assert pair["units"] == len(shared) == pair["records"]
        assert pair["cohen_kappa"] == pytest.approx(cohen_kappa_score(a, b))
        assert pair["percent_agreement"] == pytest.approx(sum(x == y for x, y in shared) / len(shared))
    codes = {"pos": 1.0, "neg": 2.0, "neu": 3.0}
    data = np.array([[codes[row[k]] if row[k] else np.nan for row in FIXTURE[:-1]] for k in range(3)])
    assert found["overall"]["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    )
    assert {a["user_id"]: a["records"] for a in found["annotators"]} == {users[0]: 10, users[1]: 10, users[2]: 9}

    # the records where annotators disagree, as a data-browser filter
    body = {"filter": {"conditions": [{"kind": "annotators_disagree", "task_id": task["id"]}]}, "limit": 50}
    disagreeing = [r["id"] for r in client.post(f"{API}/{pid}/records/search", json=body).json()["items"]]
    assert disagreeing == [ids[i] for i, row in enumerate(FIXTURE) if len({x for x in row if x}) > 1]

    # gold-starred records can be left out
    client.put(f"{API}/{pid}/records/{ids[1]}/labeling-tasks/{task['id']}/gold-star", headers=annotators[0])
    without = client.get(f"{API}/{pid}/metrics/agreement", params={"task_id": task["id"], "include_gold_starred": "false"})
    assert without.json()["overall"]["records"] == 10
    assert client.get(f"{API}/{pid}/metrics/agreement", params={"task_id": str(uuid.uuid4())}).status_code == 404


def test_krippendorffs_published_example_by_hand() -> None:
    """Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units, nominal alpha 0.743."""
    table = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [[row[u] for row in table if row[u] is not None] for u in range(12)]
    alpha = krippendorff_alpha_nominal(units)
    assert alpha is not None and round(alpha, 3) == 0.743
    # by hand: n = 40 pairable values; the coincidences' diagonal o11..o55 = 7 + 10 + 8 + 4 + 3 = 32, so D_o = 8/40;
    # value totals n_c = 9, 13, 10, 5, 3, so D_e = 1 - (72 + 156 + 90 + 20 + 6) / (40 * 39)
    assert pairwise_agreement(units) == pytest.approx(32 / 40)
    assert alpha == pytest.approx(1 - (8 / 40) / (1 - 344 / 1560))
    # undefined figures are None, not NaN
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None and krippendorff_alpha_nominal([["a", "a"]]) is None
    assert math.isclose(cohen_kappa(["a", "b"], ["b", "a"]) or 0.0, -1.0)


def test_multilabel_sets_and_extraction_tokens(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    ids = seed_records(pid, ["one two three four", "five six seven"])
    topics = make_task(client, pid, "topics", "MULTILABEL_CLASSIFICATION", None, ["a", "b"])
    entities = make_task(client, pid, "entities", "INFORMATION_EXTRACTION", "headline", ["PER", "ORG"])
    annotators = three_annotators(client, pid)[:2]
    classify(client, pid, ids[0], topics, ["a", "b"], headers=annotators[0])
    classify(client, pid, ids[0], topics, ["b", "a"], headers=annotators[1])
    classify(client, pid, ids[1], topics, ["a", "b"], headers=annotators[0])
    classify(client, pid, ids[1], topics, ["a"], headers=annotators[1])
    multi = client.get(f"{API}/{pid}/metrics/agreement", params={"task_id": topics["id"]}).json()
    assert multi["pairs"][0]["percent_agreement"] == 0.5  # {a, b} = {b, a}; {a, b} != {a}

    users = [uuid.UUID(me(client, h)) for h in annotators]
    per, org = uuid.UUID(entities["by_name"]["PER"]), uuid.UUID(entities["by_name"]["ORG"])
    spans = [(users[0], per, 0, 2), (users[1], per, 0, 1), (users[1], org, 3, 4)]  # record 0: tokens 0, 1, 3 rated
    with session_scope() as session:
        for user, label, start, end in spans:
            session.add(
                RecordLabelAssociation(
                    project_id=uuid.UUID(pid),
                    record_id=ids[0],
                    labeling_task_id=uuid.UUID(entities["id"]),
                    label_id=label,
                    source_type=SourceType.MANUAL,
                    return_type=ReturnType.YIELD,
                    created_by=user,
                    token_start=start,
                    token_end=end,
                )
            )
    tokens = client.get(f"{API}/{pid}/metrics/agreement", params={"task_id": entities["id"]}).json()
    assert tokens["unit"] == "token" and tokens["overall"]["units"] == 3
    first = ["PER", "PER", "OUTSIDE"]
    second = ["PER", "OUTSIDE", "ORG"]
    assert tokens["pairs"][0]["percent_agreement"] == pytest.approx(1 / 3)
    assert tokens["pairs"][0]["cohen_kappa"] == pytest.approx(cohen_kappa_score(first, second))

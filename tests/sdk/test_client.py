"""The SDK client against a real gateway process: authentication, projects, upload, records and export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ..conftest import ADMIN_PASSWORD
from .conftest import ADMIN_EMAIL, spam_jsonl


def test_login_token_and_errors(platform: str, admin: Any, tmp_path: Path) -> None:
    from refinery import AuthenticationError, Client, NotFoundError, ServerUnreachableError
    from tests.service_processes import free_port

    assert admin.user["email"] == ADMIN_EMAIL
    with pytest.raises(AuthenticationError) as wrong:
        Client(ADMIN_EMAIL, "not the password", uri=platform)
    assert "wrong email or password" in wrong.value.detail and wrong.value.status == 401

    token = admin.create_api_token("sdk test")["token"]
    with Client(api_token=token, uri=platform) as by_token:
        assert by_token.user["email"] == ADMIN_EMAIL
    with pytest.raises(AuthenticationError) as bad_token:
        Client(api_token=token + "x", uri=platform)
    assert "API token" in bad_token.value.detail

    missing = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(NotFoundError) as unknown:
        Client(api_token=token, project_id=missing, uri=platform)
    assert missing in unknown.value.detail
    with pytest.raises(NotFoundError):
        Client(api_token=token, project_id="not-a-uuid", uri=platform)

    with pytest.raises(ServerUnreachableError) as down:
        Client(api_token=token, uri=f"http://127.0.0.1:{free_port()}")
    assert "cannot reach refinery" in str(down.value)

    project = admin.create_project("from secrets")
    secrets = tmp_path / "secrets.json"
    original = {"user_name": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "project_id": project["id"], "uri": platform}
    secrets.write_text(json.dumps(original))
    with Client.from_secrets_file(secrets) as from_file:
        assert from_file.project_id == project["id"]
        assert from_file.get_project_details()["name"] == "from secrets"
    secrets.write_text(json.dumps({"api_token": token, "project_id": project["id"], "uri": platform}))
    with Client.from_secrets_file(str(secrets)) as from_token_file:
        assert from_token_file.get_project_details()["id"] == project["id"]


def test_projects_upload_and_export(admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> None:
    assert any(p["id"] == sdk_project["id"] for p in admin.list_projects())
    job = admin.post_file_import(spam_jsonl(tmp_path))
    assert job["state"] == "done"
    details = admin.get_project_details()
    assert details["record_count"] == 6 and details["tokenizer"] == "en"
    assert [a["name"] for a in details["attributes"]] == ["id", "text"]
    assert details["knowledge_base_ids"] == []
    assert admin.get_primary_keys() == ["id"]

    frame = admin.get_record_export(tokenize=False)
    weak = ["__spam__WEAK_SUPERVISION", "__spam__WEAK_SUPERVISION__confidence"]
    assert list(frame.columns) == ["id", "text", "__spam__MANUAL", *weak, "__spam__MANUAL__decided_by"]
    assert frame["__spam__MANUAL__decided_by"].tolist()[:4] == ["SINGLE_ANNOTATOR"] * 4
    assert frame["__spam__MANUAL"].tolist()[:4] == ["spam", "ham", "spam", "ham"]
    assert frame["__spam__MANUAL"].isna().tolist()[4:] == [True, True]

    assert len(admin.get_record_export(num_samples=2, tokenize=False)) == 2
    kept = admin.get_record_export(tokenize=False, keep_attributes=["id", "__spam__MANUAL"], dropna=True)
    assert list(kept.columns) == ["id", "__spam__MANUAL"] and len(kept) == 4

    target = tmp_path / "export.json"
    tokenized = admin.get_record_export(download_to=target, tokenize=True)
    assert [t.text for t in tokenized["text__tokenized"][1]] == ["great", "song", "love", "it"]
    written = json.loads(target.read_text())
    assert len(written) == 6 and written[0]["text"] == "check out my channel subscribe"

    records = list(admin.iter_records(page_size=4))
    assert [r["data"]["id"] for r in records] == [1, 2, 3, 4, 5, 6]


def test_post_records_batches_and_failures(admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> None:
    from refinery import BadRequestError, ConflictError, JobFailedError, RefineryError

    added = admin.post_records([{"n": i, "text": f"record number {i}"} for i in range(5)], batch_size=2)
    assert added == 5
    jobs = admin._request("GET", f"/projects/{sdk_project['id']}/jobs")
    assert sum(1 for j in jobs if j["kind"] == "upload" and j["state"] == "done") == 3
    assert admin.get_project_details()["record_count"] == 5

    with pytest.raises(ConflictError) as mismatch:
        admin.post_records([{"other": 1}])
    assert "does not match the project's attributes" in mismatch.value.detail

    empty = tmp_path / "bad.txt"
    empty.write_text("")
    with pytest.raises((BadRequestError, JobFailedError)) as refused:
        admin.post_file_import(empty)
    assert "bad.txt" in str(refused.value)
    with pytest.raises(RefineryError, match="does not exist"):
        admin.post_file_import(tmp_path / "missing.csv")

    broken = tmp_path / "late.jsonl"
    lines = [json.dumps({"n": i, "text": "ok"}) for i in range(40)] + ["{not json"]
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises((BadRequestError, JobFailedError)) as late:
        admin.post_file_import(broken)
    assert "late.jsonl" in str(late.value)
    assert admin.get_project_details()["record_count"] == 5  # nothing half-written


def test_import_snapshot_switches_to_the_new_project(admin: Any, tmp_path: Path) -> None:
    from ..shared_data import SAMPLES, require

    finished = admin.import_snapshot(require(SAMPLES / "clickbait_initial.zip"), name="clickbait from the sdk")
    assert finished["state"] == "done" and admin.project_id == finished["result"]["project_id"]
    details = admin.get_project_details()
    assert details["name"] == "clickbait from the sdk" and details["record_count"] == 3000
    missing = tmp_path / "nope.zip"
    with pytest.raises(Exception, match="does not exist"):
        admin.import_snapshot(missing)
    bad = tmp_path / "notes.txt"
    bad.write_text("not a snapshot")
    with pytest.raises(Exception, match="415|zip|JSON|json"):
        admin.import_snapshot(bad)


def test_set_primary_key(admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> None:
    from refinery import ConflictError, RefineryError

    path = tmp_path / "groups.csv"
    path.write_text("id,group,text\n1,1,a\n2,1,b\n3,2,c\n")
    admin.post_file_import(path)
    assert admin.get_primary_keys() == ["id"]
    assert admin.set_primary_key("group") == ["id", "group"]
    with pytest.raises(ConflictError, match="group=1 in records"):
        admin.set_primary_key("id", False)
    assert admin.set_primary_key("text") == ["id", "group", "text"]
    assert admin.set_primary_key("id", False) == ["group", "text"]
    with pytest.raises(RefineryError, match="no attribute 'nope'"):
        admin.set_primary_key("nope")

"""Reading a snapshot file: a zip holding one JSON file, or the JSON itself; its limits and its shape.

The upload request checks a file at once (:func:`peek_snapshot`), the import job reads it whole (:func:`read_snapshot`).
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

from shared_model.service.input_checks import depth_problem, find_problem, max_json_depth

REQUIRED_KEYS = ("project_details_data", "records_data", "attributes_data")


LIST_KEYS = (
    "records_data",
    "attributes_data",
    "labeling_tasks_data",
    "labeling_task_labels_data",
    "information_sources_data",
    "record_label_associations_data",
    "record_label_association_tokens_data",
    "knowledge_bases_data",
    "terms_data",
)


class SnapshotError(Exception):
    """A snapshot that cannot be imported; ``detail`` names what is wrong."""

    def __init__(self, detail: str, status: int = 422) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


# Parsing holds the JSON several times over in memory (text, then objects): a snapshot's JSON is limited on its own,
# well below the upload limit, so that a small zip cannot unpack into gigabytes.
MAX_JSON_BYTES = 256 * 1024 * 1024


def _snapshot_json(path: Path, filename: str, max_bytes: int, prefix: int | None = None) -> tuple[bytes, str, bool]:
    """The snapshot's JSON bytes (at most ``prefix`` of them when given), where they come from, and whether that is
    all of them. 415/422/413 as :func:`read_snapshot`."""
    max_bytes = min(max_bytes, MAX_JSON_BYTES)
    want = max_bytes + 1 if prefix is None else min(prefix, max_bytes + 1)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [
                    m
                    for m in archive.infolist()
                    if not m.is_dir() and m.filename.lower().endswith(".json") and not m.filename.startswith("__MACOSX/")
                ]
                if not members:
                    names = ", ".join(m.filename for m in archive.infolist()[:5]) or "nothing"
                    raise SnapshotError(f"{filename}: the zip holds no .json file (it holds {names})")
                if len(members) > 1:
                    names = ", ".join(m.filename for m in members[:5])
                    raise SnapshotError(f"{filename}: the zip holds {len(members)} .json files ({names}); a snapshot has one")
                member = members[0]
                if member.file_size > max_bytes:
                    raise SnapshotError(
                        f"{filename}: {member.filename} unpacks to {member.file_size} bytes, over the limit of {max_bytes}", 413
                    )
                with archive.open(member) as handle:  # the header's size may lie: never read past the limit
                    raw = handle.read(want)
                    complete = len(raw) < want or not handle.read(1)
                if len(raw) > max_bytes:
                    raise SnapshotError(f"{filename}: {member.filename} unpacks to more than the limit of {max_bytes} bytes", 413)
                inner = f"{filename}/{member.filename}"
        except zipfile.BadZipFile as exc:
            raise SnapshotError(f"{filename}: a broken zip archive ({exc})", 400) from None
        except (RuntimeError, NotImplementedError) as exc:  # encrypted, or a compression method Python cannot read
            raise SnapshotError(f"{filename}: the zip cannot be read ({exc}); zip it again without a password") from None
    else:
        size = path.stat().st_size
        if size > max_bytes:
            raise SnapshotError(f"{filename} is larger than the limit of {max_bytes} bytes for a snapshot's JSON", 413)
        with path.open("rb") as handle:
            raw = handle.read(want)
        complete = len(raw) >= size
        inner = filename
        stripped = raw.lstrip()[:1]
        if stripped not in (b"{", b"["):
            raise SnapshotError(f"{filename} is neither a zip archive nor a JSON file; upload the project export (.zip)", 415)
    return raw, inner, complete


def read_snapshot(path: Path, filename: str, max_bytes: int) -> dict[str, Any]:
    """The snapshot's JSON object from a zip holding one ``.json`` file, or from the JSON file itself.

    415 for a file that is neither; 422 for a zip without (or with several) JSON files, invalid JSON or missing keys;
    413 for JSON over :data:`MAX_JSON_BYTES` (or ``max_bytes``, when lower).
    """
    raw, inner, _ = _snapshot_json(path, filename, max_bytes)
    return _parse(raw, inner)


def _parse(raw: bytes, inner: str) -> dict[str, Any]:
    """The snapshot's JSON object, checked (422 naming what is wrong)."""
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except ValueError as exc:  # invalid JSON, bad UTF-8, NaN or Infinity
        raise SnapshotError(f"{inner} is not valid JSON: {exc}") from None
    except RecursionError:
        raise SnapshotError(f"{inner}: the JSON {depth_problem(max_json_depth())}") from None
    found = find_problem(data, row_ids=True)  # NUL, lone surrogates, too deep: refused naming the row and field
    if found is not None:
        raise SnapshotError(f"{inner}: {found[0]} {found[1]}")
    check_shape(data, inner)
    snapshot: dict[str, Any] = data
    return snapshot


PEEK_BYTES = 32 << 20  # JSON up to this size is checked in full at once (≈ 0.3 s); a bigger one by the job


_DETAILS = re.compile(rb'"project_details_data"\s*:\s*')


def peek_snapshot(path: Path, filename: str, max_bytes: int) -> tuple[bool, Any]:
    """What the upload request checks before it queues the import: the archive, the limits and, for a snapshot of up
    to :data:`PEEK_BYTES` of JSON, everything :func:`read_snapshot` checks. A bigger one is parsed once, by the job:
    here only its start is read. Returns (whether the tokenizer was found, the snapshot's tokenizer value)."""
    raw, inner, complete = _snapshot_json(path, filename, max_bytes, prefix=PEEK_BYTES)
    if complete:
        return True, _parse(raw, inner)["project_details_data"].get("tokenizer")
    if raw.lstrip()[:1] != b"{":
        raise SnapshotError(f"{inner}: a project snapshot is a JSON object")
    found = _DETAILS.search(raw)  # the original writes the project's details first
    if found is not None:
        try:
            details, _ = json.JSONDecoder().raw_decode(raw[found.end() :].decode("utf-8", "ignore"))
        except ValueError:
            details = None
        if isinstance(details, dict):
            return True, details.get("tokenizer")
    return False, None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def check_shape(data: Any, where: str) -> None:
    """422 unless ``data`` is an object with the required keys and lists where lists belong."""
    if not isinstance(data, dict):
        raise SnapshotError(f"{where}: a project snapshot is a JSON object, not {type(data).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise SnapshotError(f"{where} is not a project snapshot: missing {', '.join(missing)}")
    if not isinstance(data["project_details_data"], dict):
        raise SnapshotError(f"{where}: project_details_data must be an object")
    for key in LIST_KEYS:
        value = data.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(item, dict) for item in value)):
            raise SnapshotError(f"{where}: {key} must be a list of objects")

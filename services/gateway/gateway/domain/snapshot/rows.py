"""Reading the snapshot's rows: lists by key, ids as the original writes them, required fields, enums, unique names."""

from __future__ import annotations

from typing import Any

from .reading import SnapshotError


def rows_of(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def ref(value: Any) -> str | None:
    """An id as the export writes it (``"None"`` for none)."""
    if value is None or value == "None" or value == "":
        return None
    return str(value)


def need(row: dict[str, Any], key: str, what: str) -> Any:
    if row.get(key) in (None, ""):
        raise SnapshotError(f"{what} has no {key}")
    return row[key]


def enum_value(enum_cls: Any, value: Any, what: str) -> Any:
    try:
        return enum_cls(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise SnapshotError(f"{what}: unknown {enum_cls.__name__} {value!r} (one of {allowed})") from None


class UniqueNames:
    """Names made unique within a project (``name``, ``name (2)``, …), noting each rename."""

    def __init__(self, what: str, notes: list[str]) -> None:
        self.what, self.notes, self.seen = what, notes, set[str]()

    def __call__(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.seen:
            n += 1
            candidate = f"{name} ({n})"
        if candidate != name:
            self.notes.append(f"{self.what} {name!r} renamed to {candidate!r} (duplicate name)")
        self.seen.add(candidate)
        return candidate

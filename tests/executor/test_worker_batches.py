"""The sandbox worker's batch loop, in-process (the sandboxed runs are tested through the service elsewhere)."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from executor.sandbox import worker


def functions(**codes: str) -> list[worker._Function]:
    return [worker._Function({"id": name, "mode": "lf", "code": code}, {}) for name, code in codes.items()]


def apply(records: list[Any], live: list[worker._Function], **options: Any) -> dict[str, Any]:
    capture = worker._Capture(1000)
    saved = sys.stdout
    sys.stdout = capture
    try:
        return worker._apply_batch(
            records,
            live,
            worker._Docs("en"),
            {"text"},
            options.get("token_counts", {}),
            capture,
            options.get("per_record_stdout", False),
            options.get("stop_on_error", False),
            options.get("compact", True),
        )
    finally:
        sys.stdout = saved


def rows(*texts: str) -> list[tuple[int, dict[str, Any], None, list[str]]]:
    return [(i + 1, {"text": text, "n": i}, None, []) for i, text in enumerate(texts)]


def test_raw_copy_lines_decode_to_records() -> None:
    values = [{"text": 'tab\there "q" \\ back\nslash', "n": 1}, {"text": "ünï €", "n": None}, {"x": [1, 2.5]}]
    # as COPY ... TO STDOUT writes id<TAB>jsonb::text: JSON never holds a raw tab or newline, backslashes are doubled
    payload = "".join(f"{i}\t{json.dumps(v)}".replace("\\", "\\\\") + "\n" for i, v in enumerate(values, 7))
    assert worker._decode_raw(payload.encode()) == [[i, v] for i, v in enumerate(values, 7)]
    assert worker._decode_raw(b"") == []


@pytest.mark.parametrize("fast", [True, False])
def test_raw_decoding_reads_every_json_postgres_writes(monkeypatch: pytest.MonkeyPatch, fast: bool) -> None:
    """With orjson (where installed) or the standard parser: numbers beyond 64 bits fall back to the latter."""
    if not fast:
        monkeypatch.setattr(worker, "_fast_loads", None)
    elif worker._fast_loads is None:
        pytest.skip("orjson is not installed")
    big, neg = 123456789012345678901234567890, -9223372036854775809  # e.g. a FLOAT attribute stored as numeric
    values = [{"big": big, "neg": neg, "f": 1e300, "s": "\\u00e9 ü \\"}, {"nested": {"a": [True, None]}}]
    payload = "".join(f"{i}\t{json.dumps(v, ensure_ascii=False)}".replace("\\", "\\\\") + "\n" for i, v in enumerate(values, 1))
    decoded = worker._decode_raw(payload.encode())
    assert decoded == [[i, v] for i, v in enumerate(values, 1)]
    assert type(decoded[0][1]["big"]) is int and decoded[0][1]["big"] == big and decoded[0][1]["neg"] == neg
    plain = f"3\t{json.dumps({'n': 2**50, 't': 'x'})}\n".encode()  # shorter numbers stay with the fast parser
    assert worker._decode_raw(plain) == [[3, {"n": 2**50, "t": "x"}]]


def test_plain_results_are_grouped_and_everything_else_is_kept_per_record() -> None:
    live = functions(
        spam='def lf(record):\n    return "spam" if "buy" in record["text"].text else None\n',
        loud='def lf(record):\n    print("seen", record["n"])\n    return "ham"\n',
        odd="def lf(record):\n    return 3 if record['n'] == 1 else None\n",
    )
    message = apply(rows("buy now", "hello", "buy buy"), live)
    assert message["hits"] == {"spam": {"spam": [1, 3]}}
    # printed output: the result stays per record, the output is gathered per function (not per record)
    assert message["results"]["loud"] == [[i, "ham", None, None, None] for i in (1, 2, 3)]
    assert message["stdout"] == {"loud": "seen 0\nseen 1\nseen 2\n"}
    assert message["results"]["odd"] == [[2, 3, None, None, None]]
    assert message["results"]["spam"] == []


def test_per_record_output_and_non_plain_values() -> None:
    live = functions(f='def lf(record):\n    print("r", record["n"])\n    return None if record["n"] else {"a": 1}\n')
    message = apply(rows("a", "b"), live, per_record_stdout=True, compact=False)
    assert message["results"]["f"] == [
        [1, {"__type__": "dict", "__repr__": "{'a': 1}"}, None, "r 0\n", None],
        [2, None, None, "r 1\n", None],
    ]


@pytest.mark.parametrize("stop_on_error", [False, True])
def test_errors_are_reported_and_stop_on_error_drops_the_function_for_the_rest(stop_on_error: bool) -> None:
    live = functions(
        bad='def lf(record):\n    if record["n"] >= 1:\n        raise ValueError("no")\n    return "x"\n',
        good='def lf(record):\n    return "y"\n',
    )
    message = apply(rows("a", "b", "c"), live, stop_on_error=stop_on_error)
    errors = [entry[0] for entry in message["results"]["bad"] if entry[2]]
    assert errors == ([2] if stop_on_error else [2, 3])
    assert 'line 3, in lf\n    raise ValueError("no")' in message["results"]["bad"][0][2]
    assert message["hits"]["bad"] == {"x": [1]}
    assert message["hits"]["good"] == {"y": [1, 2, 3]}  # the neighbour keeps running on every record


def test_token_counts_come_with_results() -> None:
    live = functions(spans='def lf(record):\n    yield "l", 0, 1\n')
    message = apply(rows("two words"), live, token_counts={"spans": "text"})
    assert message["results"]["spans"] == [[1, [["l", 0, 1]], None, None, 2]]


def test_values_that_cannot_be_shown_are_described_not_fatal() -> None:
    live = functions(
        loop="def lf(record):\n    x = []\n    x.append(x)\n    return x\n",
        bad_repr=("class Odd:\n    def __repr__(self):\n        raise SystemExit(3)\n\ndef lf(record):\n    return Odd()\n"),
    )
    message = apply(rows("a"), live)
    assert message["results"]["loop"] == [
        [1, {"__type__": "list", "__repr__": "<cannot be shown: RecursionError>"}, None, None, None]
    ]
    assert message["results"]["bad_repr"] == [
        [1, {"__type__": "Odd", "__repr__": "<cannot be shown: SystemExit>"}, None, None, None]
    ]


def test_docs_load_spacy_without_torch_and_leave_torch_importable() -> None:
    """thinc's optional torch import was 1.5 s of every sandbox that needed Docs (sample runs, the record IDE)."""
    import subprocess

    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(worker.__file__.rsplit('/', 1)[0])!r})\n"
        "import worker\n"
        "docs = worker._Docs('en')\n"
        "assert [t.text for t in docs.tokenize('two words')] == ['two', 'words']\n"
        "print('torch' in sys.modules)\n"
        "import torch\n"
        "print(torch.tensor([1]).sum().item())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "1"]
    # code that names spacy/thinc/torch gets the ordinary import: thinc then knows torch (torch-backed components work)
    ordinary = script.replace("worker._Docs('en')", "worker._Docs('en', fast_import=False)").replace(
        "import torch\n", "import torch, thinc.compat\nprint(thinc.compat.has_torch)\n"
    )
    done = subprocess.run([sys.executable, "-c", ordinary], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "1"]


def test_a_missing_lookup_list_names_the_ones_there_are() -> None:
    saved = sys.modules.get("knowledge")
    try:
        function = worker._Function(
            {"id": "lf", "mode": "lf", "code": "from knowledge import spam_wrds\n\ndef lf(record):\n    return None\n"},
            {},
            {"spam_words": ["free"], "ham_words": ["song"]},
        )
    finally:
        if saved is None:
            sys.modules.pop("knowledge", None)
        else:
            sys.modules["knowledge"] = saved
    assert function.error is not None
    assert "cannot import name 'spam_wrds' from 'knowledge'" in function.error
    assert function.error.endswith("lookup lists of this project: ham_words, spam_words\n")

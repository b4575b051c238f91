"""A WRENCH benchmark folder end to end through refinery, using only the SDK.

    python docs/examples/wrench_end_to_end.py DIR [--model auto|refinery|majority|generative|semi|all|a,b]
                                                  [--secrets secrets.json | --uri URI --token TOKEN] [--delete]

1. creates a project whose records are every row of train, valid and test (``wrench_idx`` primary key, the
   ``data`` fields, ``split`` as a CATEGORY column);
2. creates a whole-record classification task ``label`` with the classes of label.json, in class-id order;
3. posts each labeling function's column of ``weak_labels`` as a pre-computed heuristic (``post_associations``);
4. posts the valid split's gold labels as manual labels;
5. runs weak supervision with each chosen model, pulls the run's per-class probabilities
   (``get_weak_supervision_probabilities``) and scores the test split with the WRENCH protocol
   (../shared/data/README.md): a test row the model gives no label gets uniform probabilities, classes tied within
   1e-5 are broken by ``sha1(str(position))``; accuracy, and F1 (of class 1 for two classes, macro otherwise).

It prints one JSON line per model, with the same fields as ``python -m weak_supervisor.evaluate DIR --manual valid``.
Credentials: ``--secrets`` (the original SDK's secrets.json), ``--uri`` with ``--token`` or ``--user``/``--password``,
else the ``rsdk login`` settings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from refinery import Client, RefineryError
from refinery.settings import find_settings, load_settings

MODELS = ("auto", "refinery", "majority", "generative", "semi")
TASK = "label"


def read_folder(folder: Path) -> tuple[list[str], dict[str, list[dict[str, Any]]]]:
    """Class names in id order and the rows of each split, in file order."""
    names = json.loads((folder / "label.json").read_text(encoding="utf-8"))
    classes = [str(names[key]) for key in sorted(names, key=int)]
    splits = {}
    for split in ("train", "valid", "test"):
        rows = json.loads((folder / f"{split}.json").read_text(encoding="utf-8"))
        splits[split] = list(rows.values())
    return classes, splits


def connect(args: argparse.Namespace) -> Client:
    if args.uri and (args.token or args.user):
        return Client(args.user, args.password, uri=args.uri, api_token=args.token)
    path = Path(args.secrets) if args.secrets else find_settings(None)
    settings = load_settings(path)
    return Client(
        settings.get("user_name"),
        settings.get("password"),
        uri=settings.get("uri") or args.uri or "http://localhost:4455",
        api_token=settings.get("api_token"),
    )


def build_project(client: Client, folder: Path, classes: list[str], splits: dict[str, list[dict[str, Any]]]) -> list[int]:
    """Create and fill the project; returns the ``wrench_idx`` of each test row, in test.json's order."""
    client.create_project(f"wrench {folder.name} {time.strftime('%Y-%m-%d %H:%M:%S')}", description=f"from {folder}")
    index = 0
    test_keys: list[int] = []
    keys_by_split: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{folder.name}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for split, rows in splits.items():
                keys_by_split[split] = []
                for row in rows:
                    record = {"wrench_idx": index, **{k: v for k, v in row["data"].items() if k not in ("wrench_idx", "split")}}
                    record["split"] = split
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    keys_by_split[split].append(index)
                    index += 1
        client.post_file_import(path)
    test_keys = keys_by_split["test"]
    client.create_labeling_task(TASK, labels=classes)

    every_row = [row for split in ("train", "valid", "test") for row in splits[split]]
    all_keys = [key for split in ("train", "valid", "test") for key in keys_by_split[split]]
    n_sources = len(every_row[0]["weak_labels"])
    for j in range(n_sources):
        votes = [classes[int(row["weak_labels"][j])] if int(row["weak_labels"][j]) >= 0 else None for row in every_row]
        client.post_associations(votes, all_keys, f"lf_{j:03d}", TASK)
    client.post_manual_labels(
        [classes[int(row["label"])] for row in splits["valid"]], indices=keys_by_split["valid"], labeling_task=TASK
    )
    return test_keys


def predict(position: int, probabilities: list[float], tolerance: float = 1e-5) -> int:
    """Arg-max; classes tied within ``tolerance`` take the WRENCH/Snorkel deterministic pick for row ``position``."""
    best = max(probabilities)
    tied = [c for c, p in enumerate(probabilities) if p >= best - tolerance]
    return tied[int(hashlib.sha1(str(position).encode()).hexdigest(), 16) % len(tied)]


def score(soft: dict[int, list[float] | None], test_keys: list[int], gold: list[int], classes: list[str]) -> tuple[float, float]:
    """(accuracy, F1) in percent over the test rows; a row without evidence is uniform, so the tie-break picks."""
    uniform = [1.0 / len(classes)] * len(classes)
    predictions = [predict(position, soft.get(key) or uniform) for position, key in enumerate(test_keys)]
    accuracy = 100.0 * sum(p == g for p, g in zip(predictions, gold, strict=True)) / len(gold)
    f1s = []
    for cls in [1] if len(classes) == 2 else range(len(classes)):
        tp = sum(p == cls and g == cls for p, g in zip(predictions, gold, strict=True))
        fp = sum(p == cls and g != cls for p, g in zip(predictions, gold, strict=True))
        fn = sum(p != cls and g == cls for p, g in zip(predictions, gold, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return accuracy, 100.0 * sum(f1s) / len(f1s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="WRENCH folder: label.json, train.json, valid.json, test.json")
    parser.add_argument("--model", default="auto", help=f"one of {', '.join(MODELS)}, 'all', or a comma list")
    parser.add_argument("--secrets", help="secrets.json (user_name/password or api_token, uri)")
    parser.add_argument("--uri")
    parser.add_argument("--token")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--delete", action="store_true", help="delete the project at the end")
    args = parser.parse_args(argv)
    models = list(MODELS) if args.model == "all" else [m.strip() for m in args.model.split(",") if m.strip()]
    try:
        classes, splits = read_folder(args.folder)
    except (OSError, ValueError, KeyError) as exc:
        sys.stderr.write(f"error: {args.folder}: {exc}\n")
        return 2
    gold = [int(row["label"]) for row in splits["test"]]
    try:
        with connect(args) as client:
            test_keys = build_project(client, args.folder, classes, splits)
            for model in models:
                started = time.perf_counter()
                run = client.run_weak_supervision(TASK, model=model)
                seconds = time.perf_counter() - started
                frame = client.get_weak_supervision_probabilities(TASK, run_id=str(run["id"]))
                columns = [f"probability:{c}" if f"probability:{c}" in frame.columns else c for c in classes]
                soft = {
                    int(key): ([float(p) for p in values] if labeled else None)
                    for key, labeled, values in zip(
                        frame["wrench_idx"], frame["labeled"], frame[columns].itertuples(index=False), strict=True
                    )
                }
                accuracy, f1 = score(soft, test_keys, gold, classes)
                result: dict[str, Any] = {
                    "dataset": args.folder.name,
                    "model": model,
                    "manual": "valid",
                    "accuracy": round(accuracy, 2),
                    "f1": round(f1, 2),
                    "n_test": len(gold),
                    "seconds": round(seconds, 3),
                    "project_id": client.project_id,
                }
                if model == "auto":
                    result["picked"] = (run.get("summary", {}).get("model_details") or {}).get("picked")
                sys.stdout.write(json.dumps(result) + "\n")
                sys.stdout.flush()
            if args.delete:
                client.delete_project()
    except RefineryError as exc:
        sys.stderr.write(f"error: {exc.detail}\n")
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

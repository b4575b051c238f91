"""Data out: the project's records with their labels (export, pages of records, DataFrames)."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import RefineryError

if TYPE_CHECKING:
    import pandas as pd


from .base import ClientBase


class ExportMixin(ClientBase):
    # --- data out ---------------------------------------------------------------------------------------------

    def iter_export(self, num_samples: int | None = None) -> Iterator[dict[str, Any]]:
        """The export's records one by one (streamed JSON lines, the original's export fields)."""
        total = self._request("GET", self._p()).get("record_count")
        if num_samples is not None:
            total = min(total or num_samples, num_samples)
        with self._transport.stream("GET", self._p("/export"), params={"format": "jsonl"}) as response:
            with self._bar(total=total, desc="export", unit=" records") as bar:
                count = 0
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    if num_samples is not None and count >= num_samples:
                        break
                    yield json.loads(line)
                    count += 1
                    bar.update(1)

    def download_export(self, path: str | os.PathLike[str], fmt: str = "json") -> Path:
        """Stream the export to a file (``json`` as the original, ``jsonl`` or ``csv``) with a progress bar."""
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        with self._transport.stream("GET", self._p("/export"), params={"format": fmt}) as response:
            with partial.open("wb") as out, self._bar(desc=f"pull {target.name}", unit="B", unit_scale=True) as bar:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    bar.update(len(chunk))
        partial.replace(target)
        return target

    def get_record_export(
        self,
        num_samples: int | None = None,
        download_to: str | os.PathLike[str] | None = None,
        tokenize: bool = True,
        keep_attributes: Sequence[str] | None = None,
        dropna: bool = False,
    ) -> pd.DataFrame:
        """The project's export as a DataFrame: attributes, then per labeling task ``{attr}__{task}__MANUAL``,
        ``…__WEAK_SUPERVISION`` and ``…__WEAK_SUPERVISION__confidence``.

        ``num_samples``: only the first n records. ``tokenize``: add ``{attr}__tokenized`` spaCy Docs for each TEXT
        attribute with the project's tokenizer (needs spaCy; a pipeline package that is not installed falls back to a
        blank pipeline of its language). ``keep_attributes``: only these columns. ``dropna``: drop rows with a missing
        value in the kept columns. ``download_to``: also write the frame there as JSON records (before tokenizing).
        """
        import pandas as pd  # imported on use: the command line starts faster without it

        frame = pd.DataFrame.from_records(list(self.iter_export(num_samples)))
        if keep_attributes is not None:
            missing = [c for c in keep_attributes if c not in frame.columns]
            if missing and len(frame):
                raise RefineryError(f"keep_attributes names columns the export lacks: {', '.join(missing)}")
            frame = frame[[c for c in keep_attributes if c in frame.columns]]
        if dropna:
            frame = frame.dropna().reset_index(drop=True)
        if download_to is not None:
            frame.to_json(download_to, orient="records", force_ascii=False)
        if tokenize and len(frame):
            self._tokenize(frame)
        return frame

    def _tokenize(self, frame: pd.DataFrame) -> None:
        text_attributes = [a["name"] for a in self.get_attributes() if a["data_type"] == "TEXT" and a["name"] in frame.columns]
        if not text_attributes:
            return
        try:
            import spacy
        except ImportError:
            warnings.warn("tokenize=True needs spaCy (pip install 'refinery-sdk[spacy]'); data left untokenized", stacklevel=3)
            return
        package = str((self._project or self._request("GET", self._p())).get("tokenizer") or "en")
        if spacy.util.is_package(package):
            nlp = spacy.load(package)
        else:
            language = package.split("_")[0]
            nlp = spacy.blank(language)
        import numpy as np
        import pandas as pd

        for name in text_attributes:
            texts = frame[name].fillna("").astype(str).tolist()
            docs = np.empty(len(texts), dtype=object)  # Docs are sequences: keep pandas from unpacking them
            for i, doc in enumerate(self._bar(nlp.pipe(texts), total=len(texts), desc=f"tokenize {name}")):
                docs[i] = doc
            frame[f"{name}__tokenized"] = pd.Series(docs, index=frame.index, dtype=object)

    def iter_records(self, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every record (``id`` and ``data``) in id order, page by page."""
        after: int | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if after is not None:
                params["after"] = after
            page = self._request("GET", self._p("/records"), params=params)
            yield from page["items"]
            after = page.get("next_after")
            if after is None:
                return

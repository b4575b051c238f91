"""spaCy pipelines by project setting: ``spacy.blank(<ISO code>)`` or an installed pipeline package, loaded once."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import spacy
from spacy.language import Language

ISO_CODE = re.compile(r"^[a-z]{2,3}$")
PACKAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-.]{0,99}$")
MAX_LOADED = 4


class UnknownTokenizer(ValueError):
    """The tokenizer setting names no spaCy language and no installed pipeline package (or it cannot load)."""


@dataclass(frozen=True)
class PipelineInfo:
    """What a tokenizer setting resolves to."""

    name: str
    kind: str  # "blank" or "package"
    language: str
    pipes: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "language": self.language, "pipes": self.pipes}


_loaded: OrderedDict[str, Language] = OrderedDict()
_lock = threading.Lock()


def _load(name: str) -> Language:
    if ISO_CODE.match(name):
        try:
            spacy.util.get_lang_class(name)
        except Exception:  # noqa: BLE001 - spaCy raises ImportError or its own errors for unknown codes
            if not spacy.util.is_package(name):
                raise UnknownTokenizer(
                    f"tokenizer {name!r} is neither a spaCy language code nor an installed pipeline package"
                ) from None
        else:
            try:
                return spacy.blank(name)
            except Exception as exc:  # noqa: BLE001 - e.g. a language needing an extra package
                raise UnknownTokenizer(f"spaCy language {name!r} cannot be loaded: {exc}") from None
    if not PACKAGE_NAME.match(name) or not spacy.util.is_package(name):
        raise UnknownTokenizer(
            f"tokenizer {name!r} is neither a spaCy language code (e.g. 'en') nor an installed pipeline package"
            " (e.g. 'en_core_web_sm')"
        )
    try:
        return spacy.load(name)
    except Exception as exc:  # noqa: BLE001 - a broken package is the caller's setting problem
        raise UnknownTokenizer(f"spaCy pipeline package {name!r} failed to load: {exc}") from None


def get_nlp(name: str) -> Language:
    """The pipeline for a tokenizer setting, loaded once per process (a few kept, least recently used dropped)."""
    with _lock:
        nlp = _loaded.get(name)
        if nlp is not None:
            _loaded.move_to_end(name)
            return nlp
        nlp = _load(name)
        _loaded[name] = nlp
        while len(_loaded) > MAX_LOADED:
            _loaded.popitem(last=False)
        return nlp


def describe(name: str) -> PipelineInfo:
    """Resolve and load a tokenizer setting; raises :class:`UnknownTokenizer` when it cannot be used."""
    nlp = get_nlp(name)
    kind = "blank" if ISO_CODE.match(name) and not nlp.pipe_names and nlp.lang == name else "package"
    return PipelineInfo(name=name, kind=kind, language=str(nlp.lang), pipes=list(nlp.pipe_names))

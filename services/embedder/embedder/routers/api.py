"""Internal API of the embedder: models, encoding texts for an embedding, zero-shot playground."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared_model.service import problem
from shared_model.service.pool import InteractivePool
from shared_model.settings import get_settings

from ..encoders import CLASSICAL_MODELS, DEFAULT_MODEL, ModelUnavailable, device
from ..jobs.embed import encode_for_embedding
from ..zero_shot import DEFAULT_TEMPERATURE, LabelSpec, classify_text

router = APIRouter(tags=["embedder"])
_PLAYGROUND: InteractivePool | None = None
_PLAYGROUND_LOCK = threading.Lock()


def playground_pool() -> InteractivePool:
    """The bounded pool of zero-shot playground calls (``embedder_interactive_pool``): beyond it, 429."""
    global _PLAYGROUND
    with _PLAYGROUND_LOCK:
        if _PLAYGROUND is None:
            size = get_settings().embedder_interactive_pool
            _PLAYGROUND = InteractivePool(size, "REFINERY_EMBEDDER_INTERACTIVE_POOL", "zero-shot playground places")
        return _PLAYGROUND


class EncodeIn(BaseModel):
    embedding_id: uuid.UUID
    texts: list[str] = Field(min_length=1, max_length=1000)


class LabelIn(BaseModel):
    name: str = Field(min_length=1)
    description: str | None = None


class ZeroShotTextIn(BaseModel):
    text: str = Field(min_length=1)
    labels: list[LabelIn] = Field(min_length=2)
    model: str = DEFAULT_MODEL
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    temperature: float = Field(default=DEFAULT_TEMPERATURE, gt=0.0)


@router.get("/models")
def models() -> dict[str, Any]:
    """The models available offline and the device in use."""
    return {
        "default": DEFAULT_MODEL,
        "models": [
            {"name": DEFAULT_MODEL, "platform": "sentence-transformers", "token_level": True},
            *({"name": name, "platform": "python", "token_level": True} for name in CLASSICAL_MODELS),
        ],
        "device": device(),
    }


@router.post("/encode")
def encode(body: EncodeIn) -> dict[str, Any]:
    """Encode free texts as an embedding's records were encoded (for similarity search by text)."""
    try:
        vectors = encode_for_embedding(body.embedding_id, body.texts)
    except LookupError as exc:
        raise problem(404, str(exc)) from exc
    except ModelUnavailable as exc:
        raise problem(409, str(exc)) from exc
    return {"vectors": vectors.tolist()}


@router.post("/zero_shot/text")
def zero_shot_text(body: ZeroShotTextIn) -> dict[str, Any]:
    """Zero-shot playground: each label's confidence for one text (a bounded pool of calls at once: 429 beyond it)."""
    names = [label.name for label in body.labels]
    if len(set(names)) != len(names):
        raise problem(400, f"label names must be unique: {names}")
    try:
        with playground_pool().slot("zero-shot playground"):
            return classify_text(
                body.text,
                [LabelSpec(label.name, label.description) for label in body.labels],
                model=body.model,
                min_confidence=body.min_confidence,
                temperature=body.temperature,
            )
    except ModelUnavailable as exc:
        raise problem(400, str(exc)) from exc

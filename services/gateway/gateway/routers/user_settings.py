"""The caller's own settings of the web UI (e.g. the labeling suite's options), one JSON object per key, kept
server-side so that they follow the user from browser to browser."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from shared_model.models import UserSetting
from shared_model.service import problem

from ..deps import CurrentUser, SessionDep
from ..policies import Action, allow
from ..schemas import RequestModel

router = APIRouter(prefix="/api/v1/me/settings", tags=["auth"])

MAX_KEYS_PER_USER = 50
MAX_VALUE_BYTES = 16 * 1024
SettingKey = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]{0,99}$", description="e.g. labeling")]


class SettingIn(RequestModel):
    value: dict[str, Any] = Field(description=f"A JSON object of at most {MAX_VALUE_BYTES} bytes.")


class SettingOut(BaseModel):
    key: str
    value: dict[str, Any] = Field(description="The stored object ({} when nothing is stored yet).")
    updated_at: datetime | None


@router.get("/{key}", response_model=SettingOut, dependencies=[allow(Action.OWN_ACCOUNT)])
def get_setting(key: SettingKey, user: CurrentUser, session: SessionDep) -> SettingOut:
    """One group of the caller's settings (an empty object when none is stored)."""
    row = session.get(UserSetting, (user.id, key))
    return SettingOut(key=key, value=row.value if row else {}, updated_at=row.updated_at if row else None)


@router.put("/{key}", response_model=SettingOut, dependencies=[allow(Action.OWN_ACCOUNT)])
def put_setting(key: SettingKey, body: SettingIn, user: CurrentUser, session: SessionDep) -> SettingOut:
    """Store (replace) one group of the caller's settings."""
    size = len(json.dumps(body.value, separators=(",", ":")).encode())
    if size > MAX_VALUE_BYTES:
        raise problem(413, f"value: the settings take {size} bytes, more than the limit of {MAX_VALUE_BYTES}")
    row = session.get(UserSetting, (user.id, key))
    if row is None:
        stored = session.scalar(select(func.count()).select_from(UserSetting).where(UserSetting.user_id == user.id))
        if (stored or 0) >= MAX_KEYS_PER_USER:
            raise problem(409, f"you have {MAX_KEYS_PER_USER} groups of settings already; no new key {key!r} is stored")
        row = UserSetting(user_id=user.id, key=key, value=body.value)
        session.add(row)
    else:
        row.value = body.value
    session.flush()
    session.refresh(row)
    return SettingOut(key=key, value=row.value, updated_at=row.updated_at)

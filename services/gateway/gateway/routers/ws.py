"""``/api/v1/ws``: relays job progress (Postgres ``NOTIFY``) to authenticated clients of each project, each event only to
members whose role may see it (``policies.may_see_job``: e.g. no heuristic or weak-supervision jobs for annotators), and
label changes (``{"type": "labels", "labeling_task_id", "record_ids"}``, from gateway/domain/label_history.py): an
annotator gets only those about records of their work (``policies.visible_records``), with only those record ids."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_model.db import new_session
from shared_model.jobs import PROGRESS_CHANNEL
from shared_model.listen import listen
from shared_model.models import Project, ProjectMember, ProjectStatus, User, UserRole

from ..deps import SESSION_COOKIE, resolve_user
from ..domain.label_history import LABELS_EVENT
from ..policies import may_see_job, visible_records

router = APIRouter(tags=["websocket"])
log = logging.getLogger("gateway.ws")


class ProgressHub:
    """One LISTEN connection per gateway process, fanned out to the websockets of each project."""

    def __init__(self) -> None:
        self.subscribers: dict[uuid.UUID, set[asyncio.Queue[dict[str, Any]]]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._thread = threading.Thread(target=self._listen, name="ws-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def subscribe(self, project_ids: set[uuid.UUID]) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        for project_id in project_ids:
            self.subscribers.setdefault(project_id, set()).add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        for queues in self.subscribers.values():
            queues.discard(queue)

    def _dispatch(self, event: dict[str, Any]) -> None:
        project = event.get("project_id")
        if not project:
            return
        for queue in list(self.subscribers.get(uuid.UUID(project), ())):
            if not queue.full():
                queue.put_nowait(event)

    def _listen(self) -> None:
        listen(PROGRESS_CHANNEL, self._relay, self._stop)

    def _relay(self, payload: str) -> None:
        """Hand one job event from the listener thread to the event loop."""
        event = json.loads(payload)
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._dispatch, event)


def project_roles(session: Session, user: User) -> dict[uuid.UUID, UserRole]:
    """The user's projects and role in each (the installation admin: every project, as OWNER)."""
    if user.role == UserRole.ADMIN:
        ids = session.scalars(select(Project.id).where(Project.status != ProjectStatus.IN_DELETION))
        return dict.fromkeys(ids, UserRole.OWNER)
    rows = session.execute(select(ProjectMember.project_id, ProjectMember.role).where(ProjectMember.user_id == user.id))
    return {row[0]: row[1] for row in rows.tuples()}


def _credentials(websocket: WebSocket) -> tuple[str, str] | None:
    token = websocket.query_params.get("token")
    header = websocket.headers.get("authorization", "")
    if token:
        return "token", token
    if header.lower().startswith("bearer "):
        return "token", header[7:].strip()
    if websocket.cookies.get(SESSION_COOKIE):
        return "cookie", websocket.cookies[SESSION_COOKIE]
    return None


def _labels_event_for(user: User, roles: dict[uuid.UUID, UserRole], event: dict[str, Any]) -> dict[str, Any] | None:
    """The label-change event as this member may see it (None: not at all): an annotator only with the records of
    their work among its records (none of them, or an event about "many records": not sent)."""
    project_id = uuid.UUID(event["project_id"])
    record_ids = event.get("record_ids")
    session = new_session()
    try:
        visible = visible_records(session, user, roles.get(project_id), project_id, record_ids)
    finally:
        session.close()
    if visible is None:
        return event
    return {**event, "record_ids": visible} if visible else None


@router.websocket("/api/v1/ws")
async def progress_socket(websocket: WebSocket) -> None:
    """Authenticate (session cookie, ``Authorization: Bearer`` or ``?token=``), then stream job events.

    Send ``{"project_id": "…"}`` to narrow the stream to one project; by default all of the user's projects.
    """
    found = _credentials(websocket)

    def authorise() -> tuple[User, dict[uuid.UUID, UserRole]] | None:
        session = new_session()
        try:
            user = resolve_user(session, found)
            session.commit()
            if user is None:
                return None
            session.expunge(user)
            return user, project_roles(session, user)
        finally:
            session.close()

    hub: ProgressHub = websocket.app.state.progress_hub
    authorised = await asyncio.to_thread(authorise)
    if authorised is None:
        await websocket.close(code=4401, reason="authentication required")
        return
    user, roles = authorised
    projects = set(roles)
    await websocket.accept()
    queue = hub.subscribe(projects)
    await websocket.send_json({"type": "hello", "projects": sorted(str(p) for p in projects)})
    narrowed: set[str] | None = None

    async def receive() -> None:
        nonlocal narrowed
        while True:
            message = await websocket.receive_text()
            try:
                wanted = json.loads(message).get("project_id")
            except (ValueError, AttributeError):
                continue
            if wanted and uuid.UUID(wanted) in projects:
                narrowed = {wanted}

    receiver = asyncio.create_task(receive())
    try:
        while not receiver.done():
            try:
                event = await asyncio.wait_for(queue.get(), timeout=1.0)
            except TimeoutError:
                continue
            if narrowed is not None and event.get("project_id") not in narrowed:
                continue
            if event.get("type") == LABELS_EVENT:
                scoped = await asyncio.to_thread(_labels_event_for, user, roles, event)
                if scoped is not None:
                    await websocket.send_json(scoped)
                continue
            if may_see_job(user, roles.get(uuid.UUID(event["project_id"])), str(event.get("kind"))):
                await websocket.send_json({"type": "job", "job": event})
    except WebSocketDisconnect:
        pass
    finally:
        receiver.cancel()
        hub.unsubscribe(queue)

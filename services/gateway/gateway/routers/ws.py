"""``/api/v1/ws``: relays job progress (Postgres ``NOTIFY``) to authenticated clients of each project."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select

from shared_model.db import new_session
from shared_model.jobs import PROGRESS_CHANNEL
from shared_model.listen import listen
from shared_model.models import ProjectMember

from ..deps import SESSION_COOKIE, resolve_user

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


@router.websocket("/api/v1/ws")
async def progress_socket(websocket: WebSocket) -> None:
    """Authenticate (session cookie, ``Authorization: Bearer`` or ``?token=``), then stream job events.

    Send ``{"project_id": "…"}`` to narrow the stream to one project; by default all of the user's projects.
    """
    token = websocket.query_params.get("token")
    header = websocket.headers.get("authorization", "")
    found: tuple[str, str] | None = None
    if token:
        found = ("token", token)
    elif header.lower().startswith("bearer "):
        found = ("token", header[7:].strip())
    elif websocket.cookies.get(SESSION_COOKIE):
        found = ("cookie", websocket.cookies[SESSION_COOKIE])

    def authorise() -> set[uuid.UUID] | None:
        session = new_session()
        try:
            user = resolve_user(session, found)
            session.commit()
            if user is None:
                return None
            return set(session.scalars(select(ProjectMember.project_id).where(ProjectMember.user_id == user.id)))
        finally:
            session.close()

    hub: ProgressHub = websocket.app.state.progress_hub
    projects = await asyncio.to_thread(authorise)
    if projects is None:
        await websocket.close(code=4401, reason="authentication required")
        return
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
            if narrowed is None or event.get("project_id") in narrowed:
                await websocket.send_json({"type": "job", "job": event})
    except WebSocketDisconnect:
        pass
    finally:
        receiver.cancel()
        hub.unsubscribe(queue)

"""``GET /api/v1/health``: the gateway and every internal service (and, when the executor runs on Ray, the cluster's
nodes with each node's sandbox state)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response

from shared_model.db import database_reachable

from .. import __version__
from ..clients import INTERNAL_SERVICES, ServiceClient
from ..policies import Action, allow

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/health", dependencies=[allow(Action.PUBLIC)])
async def platform_health(response: Response) -> dict[str, Any]:
    """Health of the whole platform; 503 when any service is not ok."""
    database = "ok" if await asyncio.to_thread(database_reachable) else "unreachable"
    results = await asyncio.gather(*(ServiceClient(name, retries=0).health() for name in INTERNAL_SERVICES))
    gateway = {
        "service": "gateway",
        "version": __version__,
        "status": "ok" if database == "ok" else "degraded",
        "database": database,
    }
    services: dict[str, Any] = {"gateway": gateway}
    services.update(dict(zip(INTERNAL_SERVICES, results, strict=True)))
    healthy = all(item.get("status") == "ok" for item in services.values())
    if not healthy:
        response.status_code = 503
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded", "services": services}
    ray = services.get("executor", {}).get("ray")
    if isinstance(ray, dict) and ray.get("address"):  # scale-out on Ray: its nodes and each node's sandbox
        body["ray"] = ray
    return body

"""HTTP clients of the internal services (the gateway never imports their code): shared_model's one client."""

from __future__ import annotations

from shared_model.service.client import INTERNAL_SERVICES, ServiceClient

__all__ = ["INTERNAL_SERVICES", "ServiceClient"]

"""HTTP endpoints of the weak_supervisor (called by the gateway)."""

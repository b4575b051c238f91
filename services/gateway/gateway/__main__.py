"""Run the gateway service: ``python -m gateway``."""

from shared_model.service import serve

from .app import create_app

if __name__ == "__main__":
    serve("gateway", create_app)

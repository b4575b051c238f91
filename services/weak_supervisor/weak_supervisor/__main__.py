"""Run the weak_supervisor service: ``python -m weak_supervisor``."""

from shared_model.service import serve

from .app import create_app

if __name__ == "__main__":
    serve("weak_supervisor", create_app)

"""Run the executor service: ``python -m executor``."""

from shared_model.service import serve

from .app import create_app

if __name__ == "__main__":
    serve("executor", create_app)

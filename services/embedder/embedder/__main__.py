"""Run the embedder service: ``python -m embedder``."""

from shared_model.service import serve

from .app import create_app

if __name__ == "__main__":
    serve("embedder", create_app)

"""Run the neural_search service: ``python -m neural_search``."""

from shared_model.service import serve

from .app import create_app

if __name__ == "__main__":
    serve("neural_search", create_app)

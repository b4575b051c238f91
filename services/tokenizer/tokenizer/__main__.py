"""Run the tokenizer service: ``python -m tokenizer``."""

from shared_model.service import serve

from .app import create_app

if __name__ == "__main__":
    serve("tokenizer", create_app)

"""refinery SDK: ``from refinery import Client`` — pull labeled data, push records, labels and heuristic results."""

from .client import DEFAULT_URI, Client
from .exceptions import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    JobFailedError,
    NotFoundError,
    PermissionDeniedError,
    RefineryError,
    ServerError,
    ServerUnreachableError,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URI",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "JobFailedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RefineryError",
    "ServerError",
    "ServerUnreachableError",
    "__version__",
]

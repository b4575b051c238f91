"""The shared data model of the refinery platform.

Every service imports this package (never another service) for the SQLAlchemy models, the Alembic migrations,
the settings, the durable job queue and the common service scaffolding.
"""

__version__ = "0.1.0"

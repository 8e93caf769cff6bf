"""The service around the engine: REST API, dashboard and progress page (FastAPI)."""

from .app import create_app, from_environment
from .routes import router

__all__ = ["create_app", "from_environment", "router"]

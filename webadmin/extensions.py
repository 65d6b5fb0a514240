"""Access to the store, the settings and the runtime of the current app."""

from __future__ import annotations

from flask import current_app

from .config import Settings
from .runtime import Runtime
from .store import Store


def get_store() -> Store:
    """Return the app's store."""
    store: Store = current_app.extensions["webadmin"]["store"]
    return store


def get_settings() -> Settings:
    """Return the app's settings."""
    settings: Settings = current_app.extensions["webadmin"]["settings"]
    return settings


def get_runtime() -> Runtime:
    """Return the app's sampler and container cache."""
    runtime: Runtime = current_app.extensions["webadmin"]["runtime"]
    return runtime

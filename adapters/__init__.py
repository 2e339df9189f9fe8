"""What talks to the world: stores, calendars, scheduler, notifiers — and ``build_engine``."""

from .bootstrap import build_engine, bundled_definitions

__all__ = ["build_engine", "bundled_definitions"]

"""An app factory configured from the environment, for ``caseclock serve --workers N`` (and any
ASGI server: ``uvicorn --factory api.asgi:app_from_env``).

Each worker process builds its own engine on the shared database and, unless
``CASECLOCK_SCHEDULER=0``, runs its own scheduler: any number of processes may sweep one database
(every escalation is still recorded once; cron jobs run once per period).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .app import create_app
from .runtime import jwt_settings, make_engine, rate_limits_from_env, start_scheduler
from .settings import ApiSettings


def app_from_env() -> FastAPI:
    engine = make_engine()
    app = create_app(engine, ApiSettings(jwt=jwt_settings(), rate_limits=rate_limits_from_env(os.environ)))
    if os.environ.get("CASECLOCK_SCHEDULER", "1") != "0":
        inner = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(a: FastAPI) -> AsyncIterator[None]:
            sched = start_scheduler(engine)
            try:
                async with inner(a):
                    yield
            finally:
                sched.shutdown()

        app.router.lifespan_context = lifespan
    return app


__all__ = ["app_from_env"]

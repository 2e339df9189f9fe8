"""The web pages (issue 9): ``app.include_router(api.web.router)`` on the app ``create_app`` builds.

Pages live under ``/web`` (``/`` redirects there); templates in ``api/templates``, CSS and the one
small script in ``api/static`` (no CDN). :func:`configure` sets the secret, cookie and polling
settings; otherwise they come from ``CASECLOCK_WEB_*`` environment variables on first use.
"""

from .accounts import accounts_for, add_person, set_password
from .config import WebSettings, configure
from .routes import router

__all__ = ["WebSettings", "accounts_for", "add_person", "configure", "router", "set_password"]

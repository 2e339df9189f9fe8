"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc``, working without internet.

FastAPI's own pages load Swagger UI, ReDoc, a favicon and Google Fonts from CDNs: on a government
intranet with no way out they stay blank. Here the app turns them off and serves its own, through
FastAPI's documented self-hosting hooks (``get_swagger_ui_html``, ``get_redoc_html``) with every
asset from this app under ``/docs-assets``: the files ship in the ``fastapi-offline`` package
(Swagger UI's bundle and CSS, ReDoc's standalone bundle, a favicon; docs/dependencies.md). Swagger
UI's online spec validator is off (``validatorUrl: null``) and ReDoc gets no Google Fonts. And
both pages carry a Content-Security-Policy that lets the browser load from this app only: ReDoc's
menu shows a logo from its maker's CDN (no option turns it off), which the browser then never
asks for (the link stays, without its picture).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS = "/docs-assets"
# this app only; Swagger UI starts from an inline script and both style inline; ReDoc runs a worker
# from a blob and draws icons from data: URLs
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
       "frame-ancestors 'self'; base-uri 'self'; form-action 'self'")
DOCS = "/docs"
REDOC = "/redoc"


def assets_folder() -> str:
    return str(files("fastapi_offline") / "static")


def install(app: FastAPI) -> None:
    """Serve ``/docs``, its OAuth2 redirect page, ``/redoc`` and their assets (build ``app`` with
    ``docs_url=None, redoc_url=None``)."""
    app.mount(ASSETS, StaticFiles(directory=assets_folder()), name="docs-assets")
    redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    def _base(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get(DOCS, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = _base(request)
        return _own(get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect}",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        ))

    @app.get(redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return _own(get_swagger_ui_oauth2_redirect_html())

    @app.get(REDOC, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = _base(request)
        return _own(get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png", with_google_fonts=False,
        ))


def _own(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page


__all__ = ["ASSETS", "CSP", "DOCS", "REDOC", "assets_folder", "install"]

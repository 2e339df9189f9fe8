"""Works where offices work (issue 16): a government intranet has no internet, so no page the
service hands out may ask another host for anything — the API docs (/docs, /redoc) included,
whose assets the app serves itself. Over real HTTP, on the running service."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from .conftest import Stack

URL_IN_TEXT = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+[^\s"'<>)]*""")


class _Refs(HTMLParser):
    """Every URL an HTML page makes the browser load or follow: attributes, inline scripts and
    styles (the scripts' string literals: Swagger UI's ``url: '/openapi.json'``)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("src", "href", "action", "data", "poster", "srcset", "content"):
                if name != "content" or "://" in value:
                    self.urls.append(value)
        self._in = tag if tag in ("script", "style") else None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.inline.append(data)


def refs(html: str) -> tuple[list[str], list[str]]:
    p = _Refs()
    p.feed(html)
    return p.urls, p.inline


def external(urls: list[str], inline: list[str], html: str) -> list[str]:
    out = [u for u in urls if urlsplit(u).netloc or u.startswith("//")]
    out += [m for text in inline for m in URL_IN_TEXT.findall(text)]
    out += [m for m in URL_IN_TEXT.findall(html) if "://" in m]  # anywhere at all in the page
    return out


def test_api_docs_load_nothing_from_outside(live: Stack) -> None:
    client = live.client()  # the docs need no token
    for path, kind in (("/docs", "swagger"), ("/redoc", "redoc")):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in r.headers["content-security-policy"]  # and the browser keeps to it
        urls, inline = refs(r.text)
        assert external(urls, inline, r.text) == [], (path, external(urls, inline, r.text))
        assets = [u for u in urls if u.startswith("/docs-assets/")]
        if kind == "swagger":
            assert {"/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"} <= set(assets)
            assert "'/openapi.json'" in r.text and '"validatorUrl": null' in r.text
        else:
            assert "/docs-assets/redoc.standalone.js" in assets and "fonts.googleapis" not in r.text
        for asset in assets:  # each is served by the app, and is what it says
            got = client.get(urljoin(live.url, asset))
            assert got.status_code == 200 and len(got.content) > 1000, asset
            expected = {"js": "javascript", "css": "text/css", "png": "image/png"}[asset.rsplit(".", 1)[1]]
            assert expected in got.headers["content-type"], (asset, got.headers["content-type"])
    spec = client.get("/openapi.json")
    assert spec.status_code == 200 and "/api/cases" in spec.json()["paths"]
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_the_pages_load_nothing_from_outside(live: Stack) -> None:
    client = live.client()
    page = client.get("/web/login")
    assert page.status_code == 200
    urls, inline = refs(page.text)
    assert external(urls, inline, page.text) == []
    for asset in {u for u in urls if u.startswith("/web/") and u.rsplit(".", 1)[-1] in ("css", "js", "svg", "png")}:
        assert client.get(asset).status_code == 200, asset

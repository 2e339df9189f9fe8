"""Request bodies over a size limit are refused with 413 (a problem document) before any route
reads them: ``ApiSettings.max_body_bytes`` (default 1 MiB) for JSON and forms,
``max_upload_bytes`` (default 21 MiB: a 20 MiB attachment and its multipart envelope) for
``multipart/form-data``. A declared ``Content-Length`` over the limit is refused at once; a body
sent without one (chunked) is counted as it arrives and refused when it passes the limit.

A form posted from the pages (``/web``, ``/apply``) is told in a page, in Chinese, with the limit
and a way back; the API gets the problem document.
"""

from __future__ import annotations

import html
import re
from typing import Any

from starlette.exceptions import HTTPException

from .problems import problem_response

_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})
PAGES = ("/web", "/apply")  # paths whose refusals are pages


def _is_page(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PAGES)


def _size_words(n: int) -> str:
    """``22020096`` → ``21 MB`` (what the page says)."""
    mib = n / (1024 * 1024)
    return f"{mib:.0f} MB" if mib >= 1 else f"{max(1, n // 1024)} KB"


_CASE_FORM = re.compile(r"^(/web/cases/[^/]+)/.+$")  # a case page's forms post below the case's own page


def back_link(path: str) -> str:
    """Where the refusal page's 返回 leads: the page the form was on. A case page's forms
    (督办, 答复, 办理, 附件 …) post to URLs of their own that answer only POST: back to the case page."""
    if not _is_page(path):
        return "/"
    found = _CASE_FORM.match(path)
    return found.group(1) if found else path


def refusal_page(status: int, path: str, limit: int | None, *, upload: bool = True) -> str:
    """The page a person sees when a form is refused here (413, or a bad Content-Length).
    ``upload``: the form sent files (multipart), so the advice is about files; a text form is
    told to shorten what was typed."""
    if status == 413:
        what = (f"提交的内容过大：此处每次最多接收 {_size_words(limit)}。" if limit else "提交的内容过大。")
        hint = ("请压缩文件或分次上传后再试；已填写的内容未被保存。" if upload else
                "填写的文字过长，请删减后重新填写提交；已填写的内容未被保存，请先自行复制留存。")
    else:
        what, hint = "请求无法处理。", "请返回上一页重新提交。"
    back = html.escape(back_link(path), quote=True)
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>无法提交</title></head><body><main><h1>无法提交</h1><p role=\"alert\">{html.escape(what)}</p>"
            f"<p>{html.escape(hint)}</p><p><a href=\"{back}\">返回</a></p></main></body></html>")


class _TooLarge(HTTPException):
    """Raised from ``receive``: FastAPI re-raises HTTP exceptions met while reading a body, so the
    problem handler answers 413 (any other error there would become a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is over {limit:,} bytes, the most accepted here")


class BodyLimit:
    """Pure ASGI middleware (it never buffers a body)."""

    def __init__(self, app: Any, *, max_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") in _NO_BODY:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = self.max_upload_bytes if ctype.startswith("multipart/form-data") else self.max_bytes
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0:
                await self._refuse(scope, receive, send, 400, "Bad request", "Content-Length is not a size",
                                   "bad_request")
                return
            if size > limit:
                await self._refuse(scope, receive, send, 413, "Payload too large",
                                   f"the body is {size:,} bytes; at most {limit:,} are accepted here",
                                   "payload_too_large", limit)
                return
        seen = 0
        started = False

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        async def watched(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, 413, "Payload too large",
                               f"the body is over {limit:,} bytes, the most accepted here", "payload_too_large",
                               limit)

    @staticmethod
    async def _refuse(scope: dict[str, Any], receive: Any, send: Any, status: int, title: str, detail: str,
                      code: str, limit: int | None = None) -> None:
        path = str(scope.get("path") or "")
        if _is_page(path):
            from starlette.responses import HTMLResponse

            ctype = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1").lower()
            upload = ctype.startswith("multipart/form-data")
            page = HTMLResponse(refusal_page(status, path, limit, upload=upload), status_code=status,
                                headers={"Connection": "close", "Cache-Control": "no-store"})
            await page(scope, receive, send)
            return
        response = problem_response(status, title, detail, code=code, instance=scope.get("path"),
                                    max_bytes=limit, headers={"Connection": "close"})
        await response(scope, receive, send)


__all__ = ["PAGES", "BodyLimit", "back_link", "refusal_page"]

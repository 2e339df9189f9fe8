"""Request bodies over a size limit are refused with 413 (a problem document) before any route
reads them: ``ApiSettings.max_body_bytes`` (default 1 MiB) for JSON and forms,
``max_upload_bytes`` (default 21 MiB: a 20 MiB attachment and its multipart envelope) for
``multipart/form-data``. A declared ``Content-Length`` over the limit is refused at once; a body
sent without one (chunked) is counted as it arrives and refused when it passes the limit.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from .problems import problem_response

_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


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
        response = problem_response(status, title, detail, code=code, instance=scope.get("path"),
                                    max_bytes=limit, headers={"Connection": "close"})
        await response(scope, receive, send)


__all__ = ["BodyLimit"]

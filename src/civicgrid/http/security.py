"""Security headers of every response: no inline scripts, no framing, no MIME sniffing — and no caching of what the
API answers (people's names, ID numbers, phones, cases), unless an endpoint says it may be cached (the public map's
feed)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.responses import FileResponse
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint


def uploaded_file(path: Path, media_type: str, filename: str, cache_control: str) -> FileResponse:
    """A file someone uploaded, shown inline and never run as a page (a sandboxing CSP of its own)."""
    return FileResponse(
        path,
        media_type=media_type,
        headers={"Cache-Control": cache_control, "Content-Security-Policy": "default-src 'none'"},
        content_disposition_type="inline",
        filename=filename,
    )


def tile_origin(url_template: str | None) -> str | None:
    """The origin the map tiles come from (the only other origin images may load from)."""
    if not url_template:
        return None
    parts = urlsplit(url_template.replace("{s}", "a"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


class SecurityHeaders(BaseHTTPMiddleware):
    """No inline scripts, no framing, no MIME sniffing; map tiles only from the configured origin."""

    def __init__(self, app: object, tile_origin: str | None) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        images = "'self' data: blob:" + (f" {tile_origin}" if tile_origin else "")
        self.policy = (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src {images}; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
        )

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

"""The operator console: three static files (HTML, one ES module, CSS) served by the gateway
under /console. The page holds no data and no secret, so it answers without a token; every
datum it shows comes from the public API (/api/v1), called by the browser with the bearer token
the operator pastes in (kept in the tab's sessionStorage). An admin token acts; a customer token
sees its own orders only (the API decides, not the page)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

STATIC = Path(__file__).parent / "static" / "console"
ASSETS = {  # URL path -> (file, media type)
    "/console": ("index.html", "text/html; charset=utf-8"),
    "/console/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/console/console.css": ("console.css", "text/css; charset=utf-8"),
}
# Only this origin: no CDN, no inline script, nothing framed; the API is same-origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def console_router(zipkin_ui: str) -> APIRouter:
    """The console's routes; the files are read once, here (the Zipkin UI address, for the
    trace links, is written into the page)."""
    files = {}
    for path, (name, media) in ASSETS.items():
        body = (STATIC / name).read_text()
        if name == "index.html":
            body = body.replace("{{ZIPKIN_UI}}", zipkin_ui)
        files[path] = (body.encode(), media)
    router = APIRouter(include_in_schema=False)

    def serve(path: str) -> None:
        body, media = files[path]

        @router.get(path)
        def asset() -> Response:
            return Response(body, media_type=media, headers=SECURITY_HEADERS)

    for path in files:
        serve(path)
    return router

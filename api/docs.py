"""Interactive API docs: ``/openapi.json``, Swagger UI at ``/docs`` and ReDoc at ``/redoc``.

Every asset comes from this server (deployments may have no CDN): Swagger UI's files from the
``swagger-ui-py`` package, ReDoc's from ``api/static/redoc``. The pages carry no inline script,
so their Content-Security-Policy can forbid inline and foreign code; only inline styles are
allowed, which both UIs need. None of these routes asks for the admin token.
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

OPENAPI_URL = "/openapi.json"
SWAGGER_URL = "/docs"
REDOC_URL = "/redoc"
DOCS_PATHS = (OPENAPI_URL, SWAGGER_URL, REDOC_URL)
"""The docs' own routes (and, below ``/docs/`` and ``/redoc/``, their assets)."""

REDOC_JS = Path(__file__).parent / "static" / "redoc" / "redoc.standalone.js"
SWAGGER_ASSETS = (
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "favicon-32x32.png",
    "favicon-16x16.png",
)
"""The only files of ``swagger-ui-py``'s ``static`` folder served: no source maps, no editor."""

ASSET_CACHE = "public, max-age=604800"
"""Vendored files change only with a package upgrade; a week, revalidated by ETag after."""
PAGE_CACHE = "no-cache"

_COMMON_CSP = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
)
SWAGGER_CSP = "; ".join((*_COMMON_CSP, "form-action 'self'"))
# ReDoc runs its search index in a Web Worker built from a blob: URL.
REDOC_CSP = "; ".join((*_COMMON_CSP, "form-action 'none'", "worker-src blob:", "child-src blob:"))

_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}

DocumentFactory = Callable[[], dict[str, Any]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def docs_routes(
    get_document: DocumentFactory, *, title: str = "Vartalaap API"
) -> list[web.RouteDef]:
    """The routes serving the OpenAPI document and the two docs UIs with their assets.

    Args:
        get_document: Builds the OpenAPI document; called once, on the first request for it.
        title: The API's name, shown in the pages' titles.

    Returns:
        Route definitions for ``app.router.add_routes``.

    Raises:
        RuntimeError: A vendored asset is missing (``swagger-ui-py`` not installed, or
            ``api/static`` not packaged).
    """
    files = {f"{REDOC_URL}/assets/{REDOC_JS.name}": REDOC_JS}
    files |= {f"{SWAGGER_URL}/assets/{name}": swagger_ui_static() / name for name in SWAGGER_ASSETS}
    if missing := [str(path) for path in files.values() if not path.is_file()]:
        raise RuntimeError(f"Docs assets missing: {', '.join(missing)}")
    return [
        web.get(OPENAPI_URL, _openapi_handler(get_document), name="docs_openapi"),
        web.get(SWAGGER_URL, _page(_swagger_html(title), SWAGGER_CSP), name="docs_swagger_ui"),
        web.get(f"{SWAGGER_URL}/assets/init.js", _init_js_handler(), name="docs_swagger_init"),
        web.get(REDOC_URL, _page(_redoc_html(title), REDOC_CSP), name="docs_redoc"),
        *(web.get(url, _file(path)) for url, path in files.items()),
    ]


def is_docs_path(path: str) -> bool:
    """Whether a route path belongs to the docs (they are left out of the document)."""
    return path in DOCS_PATHS or path.startswith((f"{SWAGGER_URL}/", f"{REDOC_URL}/"))


def swagger_ui_static() -> Path:
    """The ``static`` folder of the installed ``swagger-ui-py`` package, without importing it.

    Raises:
        RuntimeError: The package is not installed.
    """
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed; it is a dependency of vartalaap")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def swagger_init_js(openapi_url: str = OPENAPI_URL) -> str:
    """The script that starts Swagger UI, served as a file so the page needs no inline code."""
    options = {
        "url": openapi_url,
        "dom_id": "#swagger-ui",
        "deepLinking": True,
        "persistAuthorization": True,
        "displayRequestDuration": True,
        "filter": True,
        "validatorUrl": None,
    }
    return (
        '"use strict";\n'
        f"window.ui = SwaggerUIBundle(Object.assign({json.dumps(options, indent=2)}, {{\n"
        "  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],\n"
        '  layout: "BaseLayout",\n'
        "}));\n"
    )


def _openapi_handler(get_document: DocumentFactory) -> Handler:
    """Serve the document, built and encoded on first use, with an ETag for revalidation."""
    cache: list[tuple[bytes, str]] = []  # (body, etag) once built

    async def openapi(request: web.Request) -> web.Response:
        if not cache:
            body = json.dumps(get_document(), ensure_ascii=False).encode()
            cache.append((body, hashlib.sha256(body).hexdigest()[:32]))
        body, etag = cache[0]
        headers = {"Cache-Control": PAGE_CACHE, "ETag": f'"{etag}"'}
        if any(tag.value == etag for tag in request.if_none_match or ()):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type="application/json", headers=headers)

    return openapi


def _page(text: str, csp: str) -> Handler:
    """Serve a fixed HTML page under a Content-Security-Policy."""
    headers = {
        "Cache-Control": PAGE_CACHE,
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=text, content_type="text/html", headers=headers)

    return page


def _init_js_handler() -> Handler:
    """Serve :func:`swagger_init_js`."""
    body = swagger_init_js().encode()
    headers = {"Cache-Control": PAGE_CACHE, "X-Content-Type-Options": "nosniff"}

    async def init_js(_request: web.Request) -> web.Response:
        return web.Response(
            body=body, content_type="text/javascript", charset="utf-8", headers=headers
        )

    return init_js


def _file(path: Path) -> Handler:
    """Serve one vendored file (aiohttp handles ETag, Last-Modified, ranges and HEAD)."""
    headers = {
        "Cache-Control": ASSET_CACHE,
        "Content-Type": _CONTENT_TYPES[path.suffix],  # the system's mime.types may differ
        "X-Content-Type-Options": "nosniff",
    }

    async def asset(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers=headers)

    return asset


def _swagger_html(title: str) -> str:
    assets = f"{SWAGGER_URL}/assets"
    return _html(
        f"{title} — Swagger UI",
        head=(
            f'<link rel="stylesheet" href="{assets}/swagger-ui.css">\n'
            f'<link rel="icon" type="image/png" sizes="32x32" href="{assets}/favicon-32x32.png">\n'
            f'<link rel="icon" type="image/png" sizes="16x16" href="{assets}/favicon-16x16.png">'
        ),
        body=(
            '<div id="swagger-ui"></div>\n'
            f'<script src="{assets}/swagger-ui-bundle.js"></script>\n'
            f'<script src="{assets}/init.js"></script>'
        ),
    )


def _redoc_html(title: str) -> str:
    return _html(
        f"{title} — ReDoc",
        head=f'<link rel="icon" type="image/png" href="{SWAGGER_URL}/assets/favicon-32x32.png">',
        body=(
            f'<redoc spec-url="{OPENAPI_URL}"></redoc>\n'
            f'<script src="{REDOC_URL}/assets/redoc.standalone.js"></script>'
        ),
    )


def _html(title: str, *, head: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n{head}\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )

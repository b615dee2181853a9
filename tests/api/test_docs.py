from html.parser import HTMLParser
from typing import Any

import pytest
from aiohttp import web

from api.docs import DOCS_PATHS, docs_routes, is_docs_path, swagger_init_js
from api.openapi import SERVICE_PATHS, openapi_document

ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
VENDOR_BUNDLES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js")


class PageParser(HTMLParser):
    """Collects a page's title, asset references and the bodies of its script tags."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.assets: list[str] = []
        self.scripts: list[tuple[str | None, str]] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self.scripts.append((values.get("src"), ""))
            if values.get("src"):
                self.assets.append(str(values["src"]))
        elif tag == "link" and values.get("href"):
            self.assets.append(str(values["href"]))
        self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "script":
            src, body = self.scripts[-1]
            self.scripts[-1] = (src, body + data)


class CountingDocument:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return openapi_document([], title="Vartalaap API", version="0", extra_paths=SERVICE_PATHS)


@pytest.fixture
def document() -> CountingDocument:
    return CountingDocument()


@pytest.fixture
async def client(aiohttp_client, document: CountingDocument):
    app = web.Application()
    app.router.add_routes(docs_routes(document))
    return await aiohttp_client(app)


async def fetch_page(client, path: str) -> PageParser:
    response = await client.get(path)
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.headers["Cache-Control"] == "no-cache"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "default-src 'none'" in csp
    assert "unsafe-eval" not in csp
    parser = PageParser()
    parser.feed(await response.text())
    return parser


async def assert_assets_served(client, parser: PageParser) -> None:
    assert parser.assets
    for url in parser.assets:
        response = await client.get(url)
        assert response.status == 200, url
        suffix = url[url.rfind(".") :]
        assert response.content_type == ASSET_TYPES[suffix], url
        body = await response.read()
        minimum = 100_000 if url.endswith(VENDOR_BUNDLES) else 200
        assert len(body) > minimum, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Cache-Control" in response.headers, url


@pytest.mark.parametrize(
    ("path", "title"),
    [("/docs", "Vartalaap API — Swagger UI"), ("/redoc", "Vartalaap API — ReDoc")],
)
async def test_page_renders_and_every_asset_it_references_is_served(client, path, title):
    parser = await fetch_page(client, path)
    assert parser.title == title
    assert all(src and not body.strip() for src, body in parser.scripts), "no inline scripts"
    assert all(
        url.startswith(f"{path}/assets/") or url.startswith("/docs/assets/favicon")
        for url in parser.assets
    )
    await assert_assets_served(client, parser)


async def test_swagger_page_loads_the_bundle_then_the_initializer(client):
    parser = await fetch_page(client, "/docs")
    scripts = [src for src, _ in parser.scripts]
    assert scripts == ["/docs/assets/swagger-ui-bundle.js", "/docs/assets/init.js"]
    assert "/docs/assets/swagger-ui.css" in parser.assets


async def test_swagger_initializer_points_at_the_document_and_keeps_the_token(client):
    response = await client.get("/docs/assets/init.js")
    text = await response.text()
    assert text == swagger_init_js()
    assert '"url": "/openapi.json"' in text
    assert '"persistAuthorization": true' in text
    assert '"validatorUrl": null' in text  # no call to an outside validator


async def test_redoc_page_points_at_the_document_and_allows_its_worker(client):
    response = await client.get("/redoc")
    assert '<redoc spec-url="/openapi.json">' in await response.text()
    assert "worker-src blob:" in response.headers["Content-Security-Policy"]


async def test_openapi_json_is_built_once_on_first_request(client, document):
    assert document.calls == 0
    first = await client.get("/openapi.json")
    assert first.status == 200
    assert first.content_type == "application/json"
    body = await first.json()
    assert body["openapi"] == "3.1.0"
    assert body["info"]["title"] == "Vartalaap API"
    second = await client.get("/openapi.json")
    assert await second.json() == body
    assert document.calls == 1


async def test_openapi_json_revalidates_with_its_etag(client):
    first = await client.get("/openapi.json")
    etag = first.headers["ETag"]
    again = await client.get("/openapi.json", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.headers["ETag"] == etag


@pytest.mark.parametrize(
    "path",
    [
        "/docs/assets/swagger-ui-bundle.js.map",
        "/docs/assets/swagger-editor-bundle.js",
        "/docs/assets/swagger-initializer.js",
        "/docs/assets/LICENSE",
        "/redoc/assets/LICENSE",
    ],
)
async def test_only_the_needed_assets_are_served(client, path):
    response = await client.get(path)
    assert response.status == 404


def test_docs_paths_are_recognised():
    assert all(is_docs_path(path) for path in DOCS_PATHS)
    assert is_docs_path("/docs/assets/swagger-ui.css")
    assert is_docs_path("/redoc/assets/redoc.standalone.js")
    assert not is_docs_path("/api/reservations")
    assert not is_docs_path("/documents")


async def test_real_app_serves_docs_without_a_token(aiohttp_client, app: web.Application):
    if not any(r.resource and r.resource.canonical == "/docs" for r in app.router.routes()):
        pytest.skip("create_app does not add docs_routes yet")
    client = await aiohttp_client(app)
    for path in ("/docs", "/redoc"):
        await assert_assets_served(client, await fetch_page(client, path))
    response = await client.get("/openapi.json")
    assert response.status == 200
    assert (await response.json())["openapi"] == "3.1.0"

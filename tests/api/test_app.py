from aiohttp import web
from sqlalchemy import text

from api.keys import DATABASE
from store.migrate import current_revision, head_revision


async def test_health_answers_healthy(aiohttp_client, app: web.Application):
    client = await aiohttp_client(app)
    response = await client.get("/health")
    assert response.status == 200
    assert await response.json() == {"status": "healthy"}


async def test_app_migrates_database_on_start(aiohttp_client, app: web.Application):
    await aiohttp_client(app)
    database = app[DATABASE]
    assert await current_revision(database) == head_revision()
    async with database.read() as session:
        tables = (await session.execute(text("SELECT name FROM sqlite_master"))).scalars().all()
    assert {"reservations", "call_logs", "audit_log"} <= set(tables)

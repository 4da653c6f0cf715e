"""The unfiltered OGC page reports the region count the store keeps per level as
``numberMatched``, read on connections that compile no query (JIT off)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from village import load_village

from spatial.settings import StoreSettings
from spatial.store import make_engine
from web.app import create_app
from web.settings import Settings, WebSettings


def test_the_page_reports_the_kept_count_on_a_connection_without_jit(
    engine, db_url, tmp_path, data_settings
):
    load_village(engine, tmp_path, data_settings)
    app = create_app(
        Settings(web=WebSettings(refresh_store=False), store=StoreSettings(database_url=db_url))
    )
    with TestClient(app) as client:
        page = client.get("/ogc/collections/village-plr/items?limit=2").json()
        assert page["numberMatched"] == 6 and page["numberReturned"] == 2
        with app.state.engine.connect() as conn:
            assert conn.execute(text("SHOW jit")).scalar_one() == "off"
    # the engines of ingests and refreshes keep the server's default
    other = make_engine(db_url)
    with other.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar_one() == "on"
    other.dispose()

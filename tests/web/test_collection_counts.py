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

# the setting and where it came from ('client': the connection's startup options)
_JIT = text("SELECT setting, source FROM pg_settings WHERE name = 'jit'")


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
            assert conn.execute(_JIT).one() == ("off", "client")
    # the engines of ingests and refreshes keep the server's own setting; options of the
    # database URL are kept beside the app's
    other = make_engine(db_url)
    with other.connect() as conn:
        assert conn.execute(_JIT).one()[1] != "client"
    other.dispose()
    both = make_engine(f"{db_url}?options=-c%20work_mem%3D7MB", jit=False)
    with both.connect() as conn:
        assert conn.execute(_JIT).one() == ("off", "client")
        assert conn.execute(text("SHOW work_mem")).scalar_one() == "7MB"
    both.dispose()

"""Shared fixtures: a real database per test (SQLite or PostgreSQL), the app, a client."""
from __future__ import annotations

import gc
import os

import pytest

from tests.dbutil import BACKEND, TestDatabases, postgres_reachable


def pytest_report_header(config):
    return f"fangxin test database backend: {BACKEND}"


def pytest_sessionstart(session):
    if BACKEND == "postgresql" and not postgres_reachable():
        message = f"PostgreSQL at {os.environ['FANGXIN_TEST_DATABASE_URL']} is not reachable"
        raise pytest.UsageError(message)
    if os.environ.get("FANGXIN_REQUIRE_POSTGRES") == "1" and BACKEND != "postgresql":
        raise pytest.UsageError("FANGXIN_REQUIRE_POSTGRES=1 but FANGXIN_TEST_DATABASE_URL is not PostgreSQL")


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    dbs = TestDatabases(tmp_path_factory.mktemp("databases"))
    yield dbs
    # a connection some test left checked out is rolled back when it is garbage-collected; collect now, while
    # its database exists, not at exit after the forced drop (which printed AdminShutdown tracebacks after a pass)
    gc.collect()
    dbs.drop_all()


@pytest.fixture
def db_url(databases) -> str:
    return databases.fresh()


@pytest.fixture
def db(db_url):
    from bot.core.db import Database

    database = Database(db_url)
    yield database
    database.dispose()


TEST_SETTINGS = {
    "secret_key": "test-secret-key-not-for-production",
    "wechat_token": "fangxin-test-token",
    "wechat_appid": "wx0000000000000001",
    "wechat_appsecret": "test-app-secret",
}


@pytest.fixture
def app_factory(db_url, tmp_path):
    """Build apps on this test's database; extra settings override the defaults."""
    from bot import create_app

    apps = []

    def make(**overrides):
        settings = {**TEST_SETTINGS, "database_url": db_url, "fangxin_instance": str(tmp_path / "instance"),
                    **overrides}
        app = create_app(settings)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["fangxin_db"].dispose()


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


# ---------------------------------------------------------------------------
# a real trained model, trained once per corpus version and cached between runs
@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    import shutil

    from bot.classifier import datasets
    from bot.classifier.runtime import train_default
    from bot.core.config import ROOT

    import hashlib

    code = hashlib.sha256()
    for source in sorted((ROOT / "bot" / "classifier").glob("*")) + sorted((ROOT / "reference_data").glob("*.json")):
        if source.is_file():
            code.update(source.read_bytes())
    digest = (datasets.digest(datasets.load_labelled(datasets.TRAIN))[:12] + code.hexdigest()[:8])
    cache = ROOT / ".pytest_cache" / "fangxin-model" / digest
    model_file = cache / "sector_model.npz"
    if not model_file.exists() or not model_file.with_suffix(".json").exists():
        cache.mkdir(parents=True, exist_ok=True)
        train_default(model_file, TEST_SETTINGS["secret_key"], progress=lambda _: None)
    target = tmp_path_factory.mktemp("model") / "sector_model.npz"
    shutil.copy(model_file, target)
    shutil.copy(model_file.with_suffix(".json"), target.with_suffix(".json"))
    return target


@pytest.fixture(scope="session")
def classifier(model_path):
    from bot.classifier.model import SectorClassifier

    return SectorClassifier.load(model_path, TEST_SETTINGS["secret_key"])


@pytest.fixture
def fake_wechat():
    from bot.wechat.fake_api import FakeWeChatAPI

    api = FakeWeChatAPI(TEST_SETTINGS["wechat_appid"], TEST_SETTINGS["wechat_appsecret"]).start()
    yield api
    api.stop()


@pytest.fixture
def bot_app(app_factory, model_path, fake_wechat):
    """The whole service on this test's database, with a trained model and WeChat's API faked locally."""
    return app_factory(fangxin_model_path=str(model_path), wechat_api_base=fake_wechat.base_url,
                       wechat_template_consumer="TPL-CONSUMER", wechat_template_staff="TPL-STAFF")


@pytest.fixture
def user(bot_app):
    from tests.wechat_user import WeChatUser

    return WeChatUser(bot_app.test_client())

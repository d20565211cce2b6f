"""fangxin (放心): consumer complaints from WeChat to the bureau that must handle them.

Importing `bot` stays cheap (no Flask, no SQLAlchemy): the classifier's
cold start in a worker or a CLI pays only for what it uses.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from bot.core.config import Settings
    from bot.core.db import Database


def create_app(overrides: dict | None = None) -> "Flask":
    """App factory: `flask --app bot ...` and gunicorn `bot:create_app()` both land here."""
    from flask import Flask

    from bot.core.config import load_settings
    from bot.core.db import Database

    settings = load_settings(overrides)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(settings.instance_path), instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    app.extensions["fangxin_settings"] = settings
    app.extensions["fangxin_db"] = Database(settings.database_url)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("bot", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.INFO)

    from datetime import timedelta

    from flask_wtf.csrf import CSRFProtect

    from bot import routes
    from bot.cli import register_cli
    from bot.console import bp as console_bp

    app.config.update(PERMANENT_SESSION_LIFETIME=timedelta(hours=12), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https"),
                      WTF_CSRF_TIME_LIMIT=None)
    csrf = CSRFProtect(app)
    app.extensions["wechat_endpoint"] = _wechat_endpoint(settings, app.extensions["fangxin_db"])
    app.register_blueprint(routes.bp)
    csrf.exempt(routes.bp)  # WeChat signs its requests; there is no browser session to forge
    app.register_blueprint(console_bp)
    for module in ("bot.api", "bot.simulator"):
        _register_optional(app, csrf, module, settings)
    register_cli(app)
    app.json.ensure_ascii = False
    _preload_classifier(settings)
    return app


def _preload_classifier(settings: "Settings") -> None:
    """Load an existing model in the background, so a worker's first message does not wait for it."""
    import threading

    if settings.model_path is None or not settings.model_path.exists():
        return

    def load() -> None:
        from bot.classifier.model import ModelError
        from bot.classifier.runtime import get_classifier

        try:
            get_classifier(settings.model_path, settings.secret_key, train_if_missing=False)
        except ModelError:
            logging.getLogger("bot").exception("the classifier model could not be loaded")

    threading.Thread(target=load, name="classifier-preload", daemon=True).start()


def _register_optional(app, csrf, module: str, settings) -> None:
    """Blueprints that decide themselves whether they apply (the simulator only in development)."""
    import importlib

    try:
        package = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return
        raise
    if hasattr(package, "register"):
        package.register(app, csrf, settings)


def _wechat_endpoint(settings: "Settings", db: "Database"):
    """The /wechat protocol object, with the outbox that reaches WeChat's API (or the local fake)."""
    from bot.conversation.handlers import router
    from bot.wechat.client import WeChatClient
    from bot.wechat.endpoint import WeChatEndpoint
    from bot.wechat.outbound import Outbox

    client = None
    if settings.wechat_appid and settings.wechat_appsecret:
        client = WeChatClient(base_url=settings.wechat_api_base, appid=settings.wechat_appid,
                              secret=settings.wechat_appsecret, db=db)
    outbox = Outbox(db=db, client=client, consumer_template=settings.wechat_template_consumer,
                    staff_template=settings.wechat_template_staff, base_url=settings.public_base_url)
    budget = float(settings.extra.get("wechat_reply_budget", 3.0))
    return WeChatEndpoint(settings, db, router, outbox, budget=budget)

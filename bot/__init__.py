"""fangxin (放心): consumer complaints from WeChat to the bureau that must handle them."""
from __future__ import annotations

import logging

from flask import Flask

from bot.core.config import Settings, load_settings
from bot.core.db import Database


def create_app(overrides: dict | None = None) -> Flask:
    """App factory: `flask --app bot ...` and gunicorn `bot:create_app()` both land here."""
    settings: Settings = load_settings(overrides)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(settings.instance_path), instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        JSON_AS_ASCII=False,
    )
    app.extensions["fangxin_settings"] = settings
    app.extensions["fangxin_db"] = Database(settings.database_url)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("bot", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.INFO)

    from bot import routes
    from bot.cli import register_cli

    app.register_blueprint(routes.bp)
    register_cli(app)
    return app

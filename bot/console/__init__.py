"""The staff console (Chinese, server-rendered): queue, ticket, dashboard, administration."""
from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static",
               static_url_path="/static")

from bot.console import auth, views  # noqa: E402,F401  (routes register on import)
from bot.console import dashboard  # noqa: E402,F401
from bot.console import admin  # noqa: E402,F401

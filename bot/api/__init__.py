"""The JSON API for bureau systems and scripts: `/api/...`, authenticated by per-staff bearer tokens.

It does what the console does, with the same rules: visibility and phone masking from
`bot.dispatch.access`, actions only through the registry in `bot.dispatch.actions`. Tokens are issued
with `flask --app bot staff token USERNAME`; only their SHA-256 digest is stored. The OpenAPI 3.1
document is served without authentication at `/api/openapi.json`.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from bot.api import views  # noqa: E402,F401  (routes register on import)


def register(app, csrf, settings) -> None:
    """Called by create_app: the blueprint, without CSRF (no cookies are used), with JSON errors under /api/."""
    from bot.api.views import json_http_errors

    app.register_blueprint(bp)
    csrf.exempt(bp)  # bearer tokens, not cookies: nothing for a third-party page to ride on
    json_http_errors(app)

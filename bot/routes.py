"""HTTP entry points of the service itself (the WeChat endpoint lives here; views stay thin)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from bot.core.context import database

bp = Blueprint("service", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness plus a database round-trip, for load balancers and the run scripts."""
    with database().session() as session:
        session.exec(text("SELECT 1"))
    return jsonify(status="ok")

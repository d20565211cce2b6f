"""HTTP entry points of the service itself: /wechat and /healthz. Views parse and reply; nothing else."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text

from bot.core.context import database
from bot.wechat.endpoint import MAX_BODY_BYTES, Outcome

bp = Blueprint("service", __name__)


def _respond(outcome: Outcome) -> Response:
    return Response(outcome.body, status=outcome.status, content_type=outcome.content_type)


@bp.get("/wechat")
def wechat_verify():
    """WeChat's URL verification handshake."""
    return _respond(current_app.extensions["wechat_endpoint"].verify(request.args))


@bp.post("/wechat")
def wechat_message():
    """A message or event from WeChat (plaintext, compatible or safe mode)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return Response("request body too large", status=413)
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return Response("request body too large", status=413)
    return _respond(current_app.extensions["wechat_endpoint"].receive(request.args, body))


@bp.get("/healthz")
def healthz():
    """Liveness plus a database round-trip, and whether this worker's classifier is loaded yet."""
    from bot.classifier.runtime import is_loaded
    from bot.core.context import settings

    with database().session() as session:
        session.exec(text("SELECT 1"))
    cfg = settings()
    return jsonify(status="ok", classifier="ready" if is_loaded(cfg.model_path, cfg.secret_key) else "loading")

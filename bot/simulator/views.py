"""Simulator views: the chat page and the dev-only feed of messages the fake WeChat API received."""
from __future__ import annotations

import json
import logging
from functools import lru_cache

import requests
from flask import Blueprint, jsonify, render_template, request, url_for

from bot.core.config import ROOT, WECHAT_REAL_API
from bot.core.context import settings

log = logging.getLogger(__name__)

bp = Blueprint("simulator", __name__, url_prefix="/simulator", template_folder="templates",
               static_folder="static", static_url_path="/static")

# the official account's original id (gh_...), as WeChat puts it in ToUserName
ACCOUNT = "gh_fangxinsim001"
ACCOUNT_NAME = "桐乡放心消费"
FAKE_TIMEOUT = (1.0, 3.0)


@lru_cache(maxsize=1)
def _towns() -> list[dict]:
    data = json.loads((ROOT / "reference_data" / "towns.json").read_text(encoding="utf-8"))
    return [{"name": t["name"], "code": t["code"], "lat": t["centroid"][0], "lon": t["centroid"][1]}
            for t in data["towns"]]


def _problem() -> str | None:
    """Why /wechat would refuse the simulator's messages, in words for the page (None when it will not)."""
    cfg = settings()
    if not cfg.wechat_token:
        return "WECHAT_TOKEN 未配置，/wechat 会拒绝所有消息（503）。请设置 WECHAT_TOKEN，或用 flask --app bot dev 启动。"
    if cfg.safe_mode:
        return ("当前为安全模式（WECHAT_ENCODING_AES_KEY 已设置），/wechat 只接受加密消息，模拟器发送的明文会被拒绝。"
                "请设置 WECHAT_MESSAGE_MODE=compatible（兼容模式）后再使用模拟器。")
    return None


def _uses_fake_api() -> bool:
    return settings().wechat_api_base.rstrip("/") != WECHAT_REAL_API


@bp.get("")
@bp.get("/")
def page():
    cfg = settings()
    config = {
        "token": cfg.wechat_token or "",
        "account": ACCOUNT,
        "wechat_url": url_for("service.wechat_message"),
        "messages_url": url_for("simulator.messages"),
        "console_url": url_for("console.home"),
        "ticket_search_url": url_for("console.queue"),
        "towns": _towns(),
        "poll_ms": 1500,
    }
    return render_template("simulator/chat.html", config=config, account_name=ACCOUNT_NAME, problem=_problem(),
                           fake_api=_uses_fake_api())


def _message_view(index: int, sent: dict) -> dict:
    if sent.get("api") == "template":
        data = {k: (v or {}).get("value", "") for k, v in (sent.get("data") or {}).items()}
        first, remark = data.pop("first", ""), data.pop("remark", "")
        lines = [first, *(f"{k}：{v}" for k, v in data.items()), remark]
        return {"seq": index, "channel": "template", "text": "\n".join(x for x in lines if x),
                "template_id": sent.get("template_id"), "url": sent.get("url")}
    msgtype = sent.get("msgtype", "text")
    text = (sent.get("text") or {}).get("content", "") if msgtype == "text" else f"[{msgtype}]"
    return {"seq": index, "channel": "custom", "text": text}


@bp.get("/messages")
def messages():
    """Customer-service and template messages the fake WeChat API received for `openid`, after `after`.

    `cursor` is the fake's message count: pass it back as `after` to get only what is new. A cursor
    beyond the count (the fake restarted) starts again from the beginning.
    """
    openid = request.args.get("openid", "")
    after = max(0, request.args.get("after", 0, type=int) or 0)
    if not openid:
        return jsonify(error="openid is required"), 400
    if not _uses_fake_api():
        # never poll the real api.weixin.qq.com: it has no such listing, and this is only for the fake
        return jsonify(source="unavailable", reason="WECHAT_API_BASE is WeChat itself, not the local fake",
                       messages=[], cursor=after)
    base = settings().wechat_api_base.rstrip("/")
    try:
        response = requests.get(f"{base}/fake/sent", timeout=FAKE_TIMEOUT)
        response.raise_for_status()
        sent = response.json().get("sent", [])
    except (requests.RequestException, ValueError) as exc:
        log.warning("simulator could not read %s/fake/sent: %s", base, exc)
        return jsonify(source="unavailable", reason=f"fake WeChat API at {base} did not answer",
                       messages=[], cursor=after), 502
    if after > len(sent):
        after = 0
    mine = [_message_view(i, m) for i, m in enumerate(sent) if i >= after and m.get("touser") == openid]
    return jsonify(source="fake", messages=mine, cursor=len(sent))

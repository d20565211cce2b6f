"""Passive replies and the 2048-byte text limit."""
from __future__ import annotations

import time

TEXT_LIMIT_BYTES = 2048
SUCCESS = "success"


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_openid: str, from_account: str, content: str, create_time: int | None = None) -> str:
    return (
        "<xml>"
        f"<ToUserName>{_cdata(to_openid)}</ToUserName>"
        f"<FromUserName>{_cdata(from_account)}</FromUserName>"
        f"<CreateTime>{int(create_time if create_time is not None else time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content>"
        "</xml>"
    )


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Split on the byte limit without cutting a character, preferring line breaks."""
    parts: list[str] = []
    rest = text
    while len(rest.encode("utf-8")) > limit:
        # largest prefix within the limit
        cut = len(rest.encode("utf-8")[:limit].decode("utf-8", "ignore"))
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline + 1
        parts.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:]
    if rest or not parts:
        parts.append(rest)
    return parts

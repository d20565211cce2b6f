"""A consumer on a phone, as WeChat's servers would present them: signed XML posted to /wechat."""
from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field

from bot.wechat.crypto import MessageCrypto
from bot.wechat.messages import parse_xml
from bot.wechat.signature import sha1_signature

TOKEN = "fangxin-test-token"
APPID = "wx0000000000000001"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_fangxin_test"
_msg_ids = itertools.count(int(time.time() * 1000))


def cdata(value: str) -> str:
    return f"<![CDATA[{value}]]>"


def message_xml(openid: str, msg_type: str, fields: dict[str, str], create_time: int | None = None,
                msg_id: int | None = None, with_msg_id: bool = True) -> str:
    parts = [f"<ToUserName>{cdata(ACCOUNT)}</ToUserName>", f"<FromUserName>{cdata(openid)}</FromUserName>",
             f"<CreateTime>{create_time or int(time.time())}</CreateTime>", f"<MsgType>{cdata(msg_type)}</MsgType>"]
    for key, value in fields.items():
        parts.append(f"<{key}>{cdata(str(value)) if not str(value).replace('.', '').isdigit() else value}</{key}>")
    if with_msg_id and msg_type != "event":
        parts.append(f"<MsgId>{msg_id or next(_msg_ids)}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


@dataclass
class Reply:
    status: int
    raw: str
    content: str | None = None
    fields: dict = field(default_factory=dict)


@dataclass
class WeChatUser:
    """Posts as WeChat would; `mode` is plaintext, compatible or safe."""

    http: object  # a Flask test client or anything with .post(url, query_string=, data=)
    openid: str = field(default_factory=lambda: "o" + secrets.token_hex(12))
    mode: str = "plaintext"
    token: str = TOKEN
    crypto: MessageCrypto | None = None

    def __post_init__(self):
        if self.mode != "plaintext" and self.crypto is None:
            self.crypto = MessageCrypto(self.token, AES_KEY, APPID)

    def post_xml(self, xml: str, timestamp: int | None = None) -> Reply:
        timestamp = str(timestamp or int(time.time()))
        nonce = secrets.token_hex(4)
        query = {"timestamp": timestamp, "nonce": nonce, "signature": sha1_signature(self.token, timestamp, nonce),
                 "openid": self.openid}
        body = xml
        if self.mode in ("compatible", "safe"):
            encrypted = self.crypto.encrypt(xml)
            query.update(encrypt_type="aes", msg_signature=self.crypto.signature(timestamp, nonce, encrypted))
            if self.mode == "compatible":
                body = xml.replace("</xml>", f"<Encrypt>{cdata(encrypted)}</Encrypt></xml>")
            else:
                body = f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
        response = self.http.post("/wechat", query_string=query, data=body.encode("utf-8"),
                                  content_type="text/xml")
        return self._read(response.status_code, response.get_data(as_text=True))

    def _read(self, status: int, raw: str) -> Reply:
        reply = Reply(status=status, raw=raw)
        if status != 200 or raw in ("", "success"):
            return reply
        fields = parse_xml(raw)
        if "Encrypt" in fields:
            assert self.crypto is not None, "encrypted reply in plaintext mode"
            signature = self.crypto.signature(fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
            assert signature == fields["MsgSignature"], "reply signature does not verify"
            fields = parse_xml(self.crypto.decrypt(fields["Encrypt"]))
        reply.fields = fields
        reply.content = fields.get("Content")
        return reply

    # -- message types -------------------------------------------------------
    def text(self, content: str, **kw) -> Reply:
        return self.post_xml(message_xml(self.openid, "text", {"Content": content}, **kw))

    def voice(self, recognition: str | None) -> Reply:
        fields = {"MediaId": "media-" + secrets.token_hex(4), "Format": "amr"}
        if recognition is not None:
            fields["Recognition"] = recognition
        return self.post_xml(message_xml(self.openid, "voice", fields))

    def image(self) -> Reply:
        return self.post_xml(message_xml(self.openid, "image", {"PicUrl": "http://mmbiz.example/pic.jpg",
                                                               "MediaId": "img-" + secrets.token_hex(4)}))

    def video(self, short: bool = False) -> Reply:
        return self.post_xml(message_xml(self.openid, "shortvideo" if short else "video",
                                         {"MediaId": "vid-" + secrets.token_hex(4), "ThumbMediaId": "thumb"}))

    def location(self, lat: float, lon: float, label: str = "") -> Reply:
        return self.post_xml(message_xml(self.openid, "location", {"Location_X": lat, "Location_Y": lon,
                                                                  "Scale": 15, "Label": label}))

    def link(self, title: str, description: str, url: str) -> Reply:
        return self.post_xml(message_xml(self.openid, "link", {"Title": title, "Description": description,
                                                              "Url": url}))

    def event(self, event: str, create_time: int | None = None, **fields) -> Reply:
        return self.post_xml(message_xml(self.openid, "event", {"Event": event, **fields}, create_time=create_time))

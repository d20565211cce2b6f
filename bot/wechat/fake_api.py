"""A local stand-in for WeChat's API servers (api.weixin.qq.com), for tests and `flask dev`.

It speaks the same HTTP+JSON protocol for the calls fangxin makes:
stable_token / token, customer-service messages and template messages, with
WeChat's error codes (40001 invalid token, 42001 expired token, 45015 outside
the 48-hour window, 40013 bad AppID, 40125 bad secret). Extra `/fake/*`
endpoints let a test inspect what was sent and inject failures.
"""
from __future__ import annotations

import argparse
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class FakeState:
    appid: str
    secret: str
    token_ttl: int = 7200
    tokens: dict[str, float] = field(default_factory=dict)   # token -> expiry (epoch)
    current: str | None = None
    sent: list[dict] = field(default_factory=list)
    template_ids: dict[str, int] = field(default_factory=dict)  # client_msg_id -> msgid
    out_of_window: set[str] = field(default_factory=set)
    failures: list[int] = field(default_factory=list)      # errcodes to return on the next API calls
    delay: float = 0.0
    token_requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_msgid: int = 1000

    def issue_token(self, force: bool) -> tuple[str, int]:
        now = time.time()
        if not force and self.current and self.tokens.get(self.current, 0) > now + 60:
            return self.current, int(self.tokens[self.current] - now)
        token = "FAKE_" + secrets.token_urlsafe(24)
        # like stable_token: a forced refresh invalidates the previous token
        self.tokens = {token: now + self.token_ttl}
        self.current = token
        return token, self.token_ttl

    def token_error(self, token: str | None) -> dict | None:
        if not token or token not in self.tokens:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        if self.tokens[token] <= time.time():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeWeChat/1.0"
    state: FakeState  # set on the subclass per server

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def _json(self, payload: dict, status: int = 200) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {"__invalid__": True}

    def do_GET(self):  # noqa: N802 - http.server naming
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        st = self.state
        if url.path == "/cgi-bin/token":
            with st.lock:
                st.token_requests += 1
                if query.get("appid") != st.appid:
                    return self._json({"errcode": 40013, "errmsg": "invalid appid"})
                if query.get("secret") != st.secret:
                    return self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
                token, ttl = st.issue_token(force=True)
            return self._json({"access_token": token, "expires_in": ttl})
        if url.path == "/fake/sent":
            with st.lock:
                return self._json({"sent": list(st.sent), "token_requests": st.token_requests})
        return self._json({"errcode": 404, "errmsg": "not found"}, 404)

    def do_POST(self):  # noqa: N802
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self._body()
        st = self.state
        if st.delay:
            time.sleep(st.delay)
        if url.path == "/cgi-bin/stable_token":
            with st.lock:
                st.token_requests += 1
                if body.get("grant_type") != "client_credential" or body.get("appid") != st.appid:
                    return self._json({"errcode": 40013, "errmsg": "invalid appid"})
                if body.get("secret") != st.secret:
                    return self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
                token, ttl = st.issue_token(force=bool(body.get("force_refresh")))
            return self._json({"access_token": token, "expires_in": ttl})
        if url.path in ("/cgi-bin/message/custom/send", "/cgi-bin/message/template/send"):
            with st.lock:
                if body.get("__invalid__"):
                    return self._json({"errcode": 47001, "errmsg": "data format error"})
                if st.failures:
                    code = st.failures.pop(0)
                    return self._json({"errcode": code, "errmsg": "injected failure"})
                error = st.token_error(query.get("access_token"))
                if error:
                    return self._json(error)
                openid = body.get("touser")
                if not openid:
                    return self._json({"errcode": 40003, "errmsg": "invalid openid"})
                if url.path.endswith("custom/send"):
                    if openid in st.out_of_window:
                        return self._json({"errcode": 45015, "errmsg": "response out of time limit"})
                    st.sent.append({"api": "custom", **body})
                    return self._json({"errcode": 0, "errmsg": "ok"})
                client_msg_id = body.get("client_msg_id")
                if client_msg_id and client_msg_id in st.template_ids:
                    return self._json({"errcode": 0, "errmsg": "ok", "msgid": st.template_ids[client_msg_id]})
                st.next_msgid += 1
                if client_msg_id:
                    st.template_ids[client_msg_id] = st.next_msgid
                st.sent.append({"api": "template", **body})
                return self._json({"errcode": 0, "errmsg": "ok", "msgid": st.next_msgid})
        if url.path == "/fake/reset":
            with st.lock:
                st.sent.clear(); st.failures.clear(); st.out_of_window.clear(); st.template_ids.clear()
                st.delay = 0.0; st.token_requests = 0
            return self._json({"ok": True})
        if url.path == "/fake/fail":
            with st.lock:
                st.failures.extend([int(body.get("errcode", 40001))] * int(body.get("times", 1)))
            return self._json({"ok": True})
        if url.path == "/fake/expire_tokens":
            with st.lock:
                st.tokens = {t: 0 for t in st.tokens}
            return self._json({"ok": True})
        if url.path == "/fake/out_of_window":
            with st.lock:
                st.out_of_window.add(body["openid"])
            return self._json({"ok": True})
        return self._json({"errcode": 404, "errmsg": "not found"}, 404)


class FakeWeChatAPI:
    """Start with `.start()`; `.base_url` is what WECHAT_API_BASE should be."""

    def __init__(self, appid: str, secret: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = FakeState(appid=appid, secret=secret)
        handler = type("BoundHandler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeWeChatAPI":
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-wechat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # conveniences for tests
    def sent(self, api: str | None = None, openid: str | None = None) -> list[dict]:
        with self.state.lock:
            return [m for m in self.state.sent
                    if (api is None or m["api"] == api) and (openid is None or m.get("touser") == openid)]


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a local fake of WeChat's API servers.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--appid", default="wxdevelopment0001")
    parser.add_argument("--secret", default="development-secret")
    args = parser.parse_args()
    fake = FakeWeChatAPI(args.appid, args.secret, args.host, args.port)
    print(f"fake WeChat API on {fake.base_url} (appid {args.appid})", flush=True)
    fake.server.serve_forever()


if __name__ == "__main__":
    main()

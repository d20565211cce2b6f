"""Outbound calls to WeChat's API: access_token, customer-service and template messages.

One access_token serves every worker and node: it lives in the `access_token`
table and is refreshed under that row's lock (SELECT ... FOR UPDATE on
PostgreSQL; BEGIN IMMEDIATE on SQLite) a few minutes before it expires,
through the stable-token endpoint. A call that fails with 40001/42001/40014
refreshes once and retries once. Every HTTP call has a timeout.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import requests
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select

from bot.core import clock
from bot.core.db import Database
from models import AccessToken

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)
TOKEN_ERRORS = {40001, 40014, 42001}
OUT_OF_WINDOW = 45015
HTTP_TIMEOUT = (3.05, 5.0)


class WeChatAPIError(RuntimeError):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass
class WeChatClient:
    base_url: str
    appid: str
    secret: str
    db: Database
    timeout: tuple[float, float] = HTTP_TIMEOUT
    http: requests.Session | None = None

    def __post_init__(self) -> None:
        self.http = self.http or requests.Session()

    # -- access_token -------------------------------------------------------
    def access_token(self, force_refresh: bool = False, stale: str | None = None) -> str:
        """The shared token; `stale` is a token WeChat just refused (refresh only if still current)."""
        with self.db.session() as session:
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            session.execute(insert(AccessToken).values(appid=self.appid).on_conflict_do_nothing())
            row = session.exec(select(AccessToken).where(AccessToken.appid == self.appid).with_for_update()).one()
            now = clock.now()
            fresh = row.token and row.expires_at and row.expires_at - REFRESH_MARGIN > now
            if fresh and not force_refresh:
                return row.token
            if fresh and stale is not None and row.token != stale:
                return row.token  # another worker refreshed it meanwhile
            token, expires_in = self._fetch_token(force_refresh)
            row.token = token
            row.expires_at = now + timedelta(seconds=expires_in)
            row.refreshed_at = now
            session.add(row)
            return token

    def _fetch_token(self, force_refresh: bool) -> tuple[str, int]:
        response = self.http.post(
            f"{self.base_url}/cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                  "force_refresh": force_refresh},
            timeout=self.timeout,
        )
        response.raise_for_status()
        data = response.json()
        if "access_token" not in data:
            raise WeChatAPIError(int(data.get("errcode", -1)), str(data.get("errmsg", "no token")))
        return data["access_token"], int(data.get("expires_in", 7200))

    # -- API calls ----------------------------------------------------------
    def call(self, path: str, payload: dict) -> dict:
        """POST JSON with the token; one refresh-and-retry on a token error."""
        token = self.access_token()
        for attempt in (1, 2):
            response = self.http.post(f"{self.base_url}{path}", params={"access_token": token},
                                      json=payload, timeout=self.timeout)
            response.raise_for_status()
            data = response.json()
            code = int(data.get("errcode", 0))
            if code == 0:
                return data
            if code in TOKEN_ERRORS and attempt == 1:
                log.info("access_token refused (%s); refreshing", code)
                token = self.access_token(force_refresh=True, stale=token)
                continue
            raise WeChatAPIError(code, str(data.get("errmsg", "")))
        raise AssertionError("unreachable")

    def send_text(self, openid: str, content: str) -> dict:
        """A customer-service (客服) text message; only within 48 h of the consumer's last message."""
        return self.call("/cgi-bin/message/custom/send",
                         {"touser": openid, "msgtype": "text", "text": {"content": content}})

    def send_template(self, openid: str, template_id: str, data: dict[str, str], url: str | None = None,
                      client_msg_id: str | None = None) -> dict:
        """A template message; `client_msg_id` makes WeChat drop a repeated send."""
        payload: dict = {"touser": openid, "template_id": template_id,
                         "data": {k: {"value": v} for k, v in data.items()}}
        if url:
            payload["url"] = url
        if client_msg_id:
            payload["client_msg_id"] = client_msg_id[:64]
        return self.call("/cgi-bin/message/template/send", payload)

"""The consumer simulator: a phone-shaped chat page that talks to /wechat exactly as WeChat's servers do.

Development only (FANGXIN_ENV=development). In production `register` adds
nothing, so /simulator and everything under it is a plain 404.

How a message travels: the page builds the same XML WeChat would post,
signs the request in the browser (sha1 over the sorted token, timestamp and
nonce, via SubtleCrypto, with a small pure-JS fallback for pages served
from a non-secure origin such as a LAN address), and POSTs it to /wechat
with the signature in the query string and no cookies. The passive reply
comes back in the response; anything the service sends later through the
customer-service or template API lands on the local fake WeChat API, and
the page polls `/simulator/messages`, which reads the fake's `/fake/sent`
for this page's openid. The dev token is therefore embedded in the page,
which is acceptable only because the page exists only in development.
"""
from __future__ import annotations


def register(app, csrf, settings) -> None:
    """Called by create_app for every app: registers the simulator only in development."""
    if not settings.is_development:
        return
    from bot.simulator.views import bp

    app.register_blueprint(bp)

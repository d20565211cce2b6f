"""Hostile WeChat requests: time to refuse and memory growth.

    python -m bench.wechat_hostile [--rounds 200]

XXE, billion laughs, an oversized body and a forged signature are posted to
the real app (Flask test client, SQLite in a temp dir); prints the median and
p99 time to the 4xx and the process's peak RSS before and after.
"""
from __future__ import annotations

import argparse
import logging
import resource
import statistics
import tempfile
import time

from bot import create_app
from bot.core import migrate
from bot.wechat.signature import sha1_signature

TOKEN = "bench-token"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    from tests.test_wechat_endpoint import LAUGHS, XXE

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        app = create_app({"database_url": url, "fangxin_instance": tmp, "secret_key": "bench", "wechat_token": TOKEN})
        logging.getLogger("bot.wechat").setLevel(logging.ERROR)  # the refusals are the point here
        client = app.test_client()
        cases = {
            "xxe": XXE.encode(),
            "billion_laughs": LAUGHS.encode(),
            "oversized_1MB": b"<xml>" + b"a" * (1024 * 1024) + b"</xml>",
            "forged_signature": None,
        }
        print(f"peak RSS before: {peak_rss_mb():.1f} MB")
        for name, body in cases.items():
            timings, statuses = [], set()
            for i in range(args.rounds):
                ts, nonce = str(int(time.time())), str(i)
                signature = sha1_signature(TOKEN, ts, nonce) if name != "forged_signature" else "0" * 40
                data = body if body is not None else b"<xml><FromUserName>o</FromUserName></xml>"
                start = time.perf_counter()
                response = client.post("/wechat", query_string={"timestamp": ts, "nonce": nonce, "signature": signature},
                                       data=data, content_type="text/xml")
                timings.append((time.perf_counter() - start) * 1000)
                statuses.add(response.status_code)
            timings.sort()
            print(f"{name:18} status {sorted(statuses)}  median {statistics.median(timings):.2f} ms  "
                  f"p99 {timings[int(len(timings) * 0.99) - 1]:.2f} ms  peak RSS now {peak_rss_mb():.1f} MB")


if __name__ == "__main__":
    main()

"""A live fangxin under gunicorn on 127.0.0.1 (several worker processes), for tests that need real concurrency."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from bot.core.config import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, env: dict[str, str], workers: int = 3, log_path: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        full_env = {**os.environ, **env}
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self._log = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--timeout", "60", "bot:create_app()"],
            cwd=ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self, timeout: float = 90) -> None:
        """Until the workers answer and have their classifier loaded (several answers in a row say so)."""
        deadline = time.time() + timeout
        ready_in_a_row = 0
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                response = requests.get(f"{self.url}/healthz", timeout=2)
                ready = response.status_code == 200 and response.json().get("classifier") == "ready"
                ready_in_a_row = ready_in_a_row + 1 if ready else 0
                if ready_in_a_row >= 6:
                    return
            except requests.RequestException:
                ready_in_a_row = 0
            time.sleep(0.2)
        raise RuntimeError("live server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self._log is not subprocess.DEVNULL:
            self._log.close()


class RequestsAdapter:
    """Lets WeChatUser post to a live server with the same call it uses on Flask's test client."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def post(self, path: str, query_string: dict, data: bytes, content_type: str):
        response = self.session.post(self.base_url + path, params=query_string, data=data,
                                     headers={"Content-Type": content_type}, timeout=30)
        return _Response(response)


class _Response:
    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self._text = response.content.decode("utf-8")

    def get_data(self, as_text: bool = False):
        return self._text if as_text else self._text.encode("utf-8")

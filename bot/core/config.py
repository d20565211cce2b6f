"""Settings read from the environment (and an optional `.env`).

A variable set to the empty string counts as unset, so that `FOO=` in a
`.env` or a CI matrix never silently overrides a default with "".
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INSTANCE = ROOT / "instance"
WECHAT_REAL_API = "https://api.weixin.qq.com"


def _env(name: str, source: dict[str, str | None]) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        value = source.get(name)
    if value is None or value == "":
        return None
    return value


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    secret_key: str
    wechat_token: str | None
    wechat_appid: str | None
    wechat_appsecret: str | None
    wechat_encoding_aes_key: str | None
    wechat_api_base: str
    wechat_mode: str = "plaintext"          # plaintext | compatible | safe
    wechat_template_consumer: str | None = None  # template id for ticket status updates
    wechat_template_staff: str | None = None     # template id for new/handed-on tickets
    env: str = "production"
    model_path: Path | None = None
    public_base_url: str = "http://127.0.0.1:5000"
    extra: dict = field(default_factory=dict)

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def safe_mode(self) -> bool:
        """Safe mode (安全模式): only encrypted bodies are accepted."""
        return self.wechat_mode == "safe"


def _persisted_secret(instance: Path) -> str:
    """A development secret that survives restarts (model signatures depend on it)."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for any PostgreSQL URL written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


WECHAT_MODES = ("plaintext", "compatible", "safe")


def _wechat_mode(mode: str | None, aes_key: str | None) -> str:
    """Safe mode by default when an EncodingAESKey is configured, plaintext otherwise."""
    mode = (mode or ("safe" if aes_key else "plaintext")).lower()
    if mode not in WECHAT_MODES:
        raise ValueError(f"WECHAT_MESSAGE_MODE must be one of {', '.join(WECHAT_MODES)}")
    if mode != "plaintext" and not aes_key:
        raise ValueError(f"WECHAT_MESSAGE_MODE={mode} needs WECHAT_ENCODING_AES_KEY")
    return mode


def load_settings(overrides: dict | None = None) -> Settings:
    """Build settings from overrides, then the environment, then `.env`, then defaults."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != ""}
    dotenv = dotenv_values(ROOT / ".env") if (ROOT / ".env").exists() else {}

    def pick(name: str) -> str | None:
        key = name.lower()
        if key in overrides:
            return str(overrides[key])
        return _env(name, dotenv)

    instance = Path(pick("FANGXIN_INSTANCE") or DEFAULT_INSTANCE)
    database_url = pick("DATABASE_URL") or f"sqlite:///{instance / 'fangxin.db'}"
    model_path = pick("FANGXIN_MODEL_PATH")
    known = {f.name for f in fields(Settings)}
    return Settings(
        instance_path=instance,
        database_url=normalise_database_url(database_url),
        secret_key=pick("SECRET_KEY") or _persisted_secret(instance),
        wechat_token=pick("WECHAT_TOKEN"),
        wechat_appid=pick("WECHAT_APPID"),
        wechat_appsecret=pick("WECHAT_APPSECRET"),
        wechat_encoding_aes_key=pick("WECHAT_ENCODING_AES_KEY"),
        wechat_api_base=(pick("WECHAT_API_BASE") or WECHAT_REAL_API).rstrip("/"),
        wechat_mode=_wechat_mode(pick("WECHAT_MESSAGE_MODE"), pick("WECHAT_ENCODING_AES_KEY")),
        wechat_template_consumer=pick("WECHAT_TEMPLATE_CONSUMER"),
        wechat_template_staff=pick("WECHAT_TEMPLATE_STAFF"),
        env=pick("FANGXIN_ENV") or "production",
        model_path=Path(model_path) if model_path else instance / "model" / "sector_model.npz",
        public_base_url=(pick("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        extra={k: v for k, v in overrides.items() if k not in known and k.upper() != k},
    )

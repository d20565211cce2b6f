"""Browser-test helpers: the system Chromium through Playwright, a live development server, screenshots."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.core.config import ROOT
from tests.conftest import TEST_SETTINGS
from tests.console_util import PASSWORD

# Playwright's own browser download is not available here: the system Chromium (Debian: apt-get install
# chromium), quiet and offline. FANGXIN_CHROMIUM points elsewhere (e.g. /usr/bin/chromium-browser).
CHROMIUM = Path(os.environ.get("FANGXIN_CHROMIUM") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--lang=zh-CN"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TIMEOUT_MS = 20_000  # the first message makes a gunicorn worker load the classifier


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (install it with `apt-get install -y chromium`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (requirements-dev.txt)"
    return None


def skip_or_fail(reason: str) -> None:
    """Skip with the reason, unless FANGXIN_REQUIRE_BROWSER=1 makes a missing browser a failure."""
    if os.environ.get("FANGXIN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"FANGXIN_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def live_env(db_url: str, model_path: Path, fake_api_base: str, instance: Path) -> dict[str, str]:
    """The environment of a live development server on the test's database and fake WeChat API."""
    return {"DATABASE_URL": db_url, "FANGXIN_INSTANCE": str(instance), "FANGXIN_ENV": "development",
            "SECRET_KEY": TEST_SETTINGS["secret_key"], "WECHAT_TOKEN": TEST_SETTINGS["wechat_token"],
            "WECHAT_APPID": TEST_SETTINGS["wechat_appid"], "WECHAT_APPSECRET": TEST_SETTINGS["wechat_appsecret"],
            "WECHAT_API_BASE": fake_api_base, "FANGXIN_MODEL_PATH": str(model_path),
            "WECHAT_ENCODING_AES_KEY": "", "WECHAT_MESSAGE_MODE": "",
            "WECHAT_TEMPLATE_CONSUMER": "TPL-CONSUMER", "WECHAT_TEMPLATE_STAFF": "TPL-STAFF"}


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


# -- the console -------------------------------------------------------------------------------
def console_login(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real form and wait for wherever the console sends this account."""
    page.goto(f"{base_url}/console/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()


def run_action(page, name: str, fields: dict[str, str] | None = None) -> str:
    """Open an action on the ticket page, fill its form, submit; the flash message that follows."""
    details = page.locator(f"details.action:has(form[data-action='{name}'])")
    if not details.evaluate("d => d.open"):
        details.locator("summary").click()
    form = page.locator(f"form[data-action='{name}']")
    for field, value in (fields or {}).items():
        control = form.locator(f"[name='{field}']")
        if control.evaluate("el => el.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    return page.locator(".flash").first.inner_text()


# -- the simulator -----------------------------------------------------------------------------
def bot_bubbles(page):
    return page.locator(".msg.bot .bubble")


def wait_for_bot(page, text: str, timeout: int = TIMEOUT_MS) -> str:
    """The last bot bubble containing `text` (passive reply or a later customer-service message)."""
    bubble = bot_bubbles(page).filter(has_text=text).last
    bubble.wait_for(state="visible", timeout=timeout)
    return bubble.inner_text()


def say(page, text: str, expect: str, timeout: int = TIMEOUT_MS) -> str:
    """Type a message the way a consumer does (Enter sends) and wait for a reply containing `expect`."""
    before = bot_bubbles(page).filter(has_text=expect).count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    bubbles = bot_bubbles(page).filter(has_text=expect)
    bubbles.nth(before).wait_for(state="visible", timeout=timeout)
    return bubbles.nth(before).inner_text()


TICKET_NUMBER = re.compile(r"TX\d{8}-\d{4,}")


def ticket_number_in(text: str) -> str:
    match = TICKET_NUMBER.search(text)
    assert match, text
    return match.group(0)

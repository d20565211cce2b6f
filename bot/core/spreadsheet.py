"""Text that goes into a CSV or an Excel sheet."""
from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """Consumer-typed text (merchant names) must never become a spreadsheet formula."""
    return "'" + value if value[:1] in FORMULA_STARTS else value

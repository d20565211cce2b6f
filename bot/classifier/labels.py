"""The label set: the 17 sector keys of the contract plus `none` (not a complaint)."""
from __future__ import annotations

import json
from functools import lru_cache

from bot.core.config import ROOT

NONE = "none"


@lru_cache(maxsize=None)
def _sectors() -> list[dict]:
    return json.loads((ROOT / "reference_data" / "sectors.json").read_text(encoding="utf-8"))["sectors"]


SECTOR_KEYS: tuple[str, ...] = tuple(s["key"] for s in sorted(_sectors(), key=lambda s: s["ordinal"]))
ALL_LABELS: tuple[str, ...] = SECTOR_KEYS + (NONE,)


def sector_names() -> dict[str, str]:
    """key -> Chinese name, for replies and the console."""
    return {s["key"]: s["name"] for s in _sectors()}

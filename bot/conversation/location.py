"""A shared WeChat location to one of the city's 11 towns (or outside the city)."""
from __future__ import annotations

import json
import math
from functools import lru_cache

from bot.classifier.extraction import extract_town
from bot.core.config import ROOT


@lru_cache(maxsize=None)
def _towns() -> tuple[list[dict], float]:
    data = json.loads((ROOT / "reference_data" / "towns.json").read_text(encoding="utf-8"))
    return data["towns"], float(data.get("max_km", 9))


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371 * 2 * math.asin(math.sqrt(a))


def town_for_location(latitude: float | None, longitude: float | None, label: str | None = None
                      ) -> tuple[str, str] | None:
    """(town name, code): the address label decides when it names a town, else the nearest town centre.

    None means outside the city (farther than max_km from every town centre).
    """
    if label:
        found = extract_town(label)
        if found:
            return found
    if latitude is None or longitude is None:
        return None
    towns, max_km = _towns()
    nearest = min(towns, key=lambda t: _km(latitude, longitude, *t["centroid"]))
    if _km(latitude, longitude, *nearest["centroid"]) > max_km:
        return None
    return nearest["name"], nearest["code"]

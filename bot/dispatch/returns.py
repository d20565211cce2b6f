"""No-reason returns (无理由退货): distance selling by law, offline by the merchant's pledge."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ONLINE_RETURN_DAYS = 7  # Consumer Rights Law Art. 25
# sectors whose goods the law excludes (perishable, digital, services) or that are services anyway
EXCLUDED_SECTORS = {"food", "catering", "grain_oil", "agri_inputs", "medical_products", "education_training",
                    "culture_entertainment", "tourism", "transport", "telecom", "finance", "property_management",
                    "express_delivery", "beauty_fitness"}


@dataclass(frozen=True)
class ReturnRight:
    entitled: bool
    rule: str | None        # "online_7_days" / "offline_pledge_N_days"
    window_days: int = 0
    last_day: date | None = None
    reason: str = ""        # why not, for the audit trail


def assess_return(*, sector_key: str | None, online: bool | None, purchase_date: date | None, today: date,
                  offline_return_days: int = 0) -> ReturnRight:
    """Is the consumer entitled to return the goods without a reason?

    The receipt date is rarely known; the purchase date is used, which can
    only under-state the window (receipt comes after purchase).
    """
    if sector_key in EXCLUDED_SECTORS:
        return ReturnRight(False, None, reason=f"sector {sector_key}: excluded goods or a service")
    if purchase_date is None:
        return ReturnRight(False, None, reason="purchase date unknown")
    elapsed = (today - purchase_date).days
    if online:
        if elapsed <= ONLINE_RETURN_DAYS:
            return ReturnRight(True, "online_7_days", ONLINE_RETURN_DAYS,
                               date.fromordinal(purchase_date.toordinal() + ONLINE_RETURN_DAYS))
        return ReturnRight(False, None, reason=f"online purchase {elapsed} days ago (> {ONLINE_RETURN_DAYS})")
    if offline_return_days > 0:
        if elapsed <= offline_return_days:
            return ReturnRight(True, f"offline_pledge_{offline_return_days}_days", offline_return_days,
                               date.fromordinal(purchase_date.toordinal() + offline_return_days))
        return ReturnRight(False, None, reason=f"offline purchase {elapsed} days ago (> pledged {offline_return_days})")
    return ReturnRight(False, None, reason="offline purchase without a return pledge")

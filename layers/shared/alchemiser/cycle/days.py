"""Trading days and the run ids derived from them."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

MARKET_TIMEZONE = ZoneInfo("America/New_York")


def run_id_for(stage: str, day: date) -> str:
    """Return the run id of a stage's trading day: every execution for that day shares it."""
    return f"cycle-{day.isoformat()}-{stage}"

"""The hedge section of the report and email: what a user reads about the day's hedge."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from alchemiser.hedge.summary import HedgeOrderLine, HedgePosition, HedgeSummary, LegGreeks
from alchemiser.reporting.document import Document, render_html, render_text
from alchemiser.reporting.hedge_section import hedge_sections

SUMMARY = HedgeSummary(
    run_id="cycle-2024-03-14-dev", day=date(2024, 3, 14), decision="hedged",
    policy="tail on auto: pay 8.0% of NAV at a -20% move", underlying="QQQ",
    spot=Decimal("433.32"), nav=Decimal(100_000), equity_delta=Decimal("133773.05"),
    positions=[
        HedgePosition(
            hedge_id="20240314-QQQ240621P00390000", template="tail", opened_on=date(2024, 3, 14),
            premium=Decimal("439.00"), dte=99, value=Decimal("433.50"), delta=Decimal("-6933.12"),
            legs=[LegGreeks(symbol="QQQ240621P00390000", qty=1, delta=-0.16, gamma=0.005, vega=55.0)],
        )
    ],
    protection={"-0.1": Decimal("1749.74"), "-0.2": Decimal("4648.68"), "-0.3": Decimal("8684.72")},
    spent_month=Decimal("439.00"), cap_month=Decimal("500.00"), spent_year=Decimal("439.00"),
    cap_year=Decimal("4000.00"), next_roll=date(2024, 5, 22),
    orders=[
        HedgeOrderLine(
            kind="open", hedge_id="20240314-QQQ240621P00390000", reason="pay 4648.68 at -20%",
            outcome="filled", filled=1, qty=1, avg_price=Decimal("4.39"), orders=1,
        )
    ],
    clips=["monthly budget: 2 x up to $444.00 = $888.00 but $500.00 left of $500.00"],
    realised=Decimal(0), unrealised=Decimal("-5.50"),
)  # fmt: skip


def text_of(summary: HedgeSummary | None) -> str:
    return render_text(Document("r", [], [], hedge_sections(summary)))


def test_the_section_shows_protection_caps_next_roll_greeks_and_clips() -> None:
    text = text_of(SUMMARY)
    assert "Decision: a hedge was bought" in text
    assert "-10%: $1,749.74, -20%: $4,648.68, -30%: $8,684.72" in text
    assert "Premium: $439.00 of $500.00 this month, $439.00 of $4,000.00 over 12 months" in text
    assert "Next roll: 2024-05-22" in text
    assert "Clipped: monthly budget: 2 x up to $444.00" in text
    assert "QQQ240621P00390000" in text and "-0.160" in text and "55.000" in text
    assert "1 of 1" in text and "4.39" in text


def test_a_refusal_says_why_and_user_text_is_escaped_in_html() -> None:
    refused = SUMMARY.model_copy(
        update={
            "decision": "refused",
            "reasons": ["halted: the hedge kill switch is on: <b>vol</b> spike"],
            "positions": [],
            "orders": [],
        }
    )
    text = text_of(refused)
    assert "REFUSED: no option order (fail closed)" in text
    assert "Why: halted: the hedge kill switch is on: <b>vol</b> spike" in text
    page = render_html(Document("r", [], [], hedge_sections(refused)))
    assert "&lt;b&gt;vol&lt;/b&gt;" in page and "<b>vol" not in page


def test_no_stored_hedge_means_no_section_and_off_says_so() -> None:
    assert hedge_sections(None) == []
    off = HedgeSummary(run_id="r", day=date(2024, 3, 14), decision="off", reasons=["no hedge:"])
    assert "hedging is off for this stage" in text_of(off)
    assert "Premium" not in text_of(off)

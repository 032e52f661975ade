"""The hedge part of the run's report and email, from the stored ``HedgeSummary``.

``hedge_sections(summary)`` returns report sections (rendered as escaped HTML and as
text by ``reporting.document``): the decision and why, premium against the caps, the
protection in dollars at -10/-20/-30 % of the underlying, the next roll, the positions
with their greeks, the orders, and every clip or refusal with its numbers.
"""

from __future__ import annotations

from decimal import Decimal

from alchemiser.hedge.summary import HedgeSummary
from alchemiser.reporting.document import NONE, Section, Table, money

_DECISIONS = {
    "hedged": "a hedge was bought",
    "no-hedge": "no hedge bought",
    "refused": "REFUSED: no option order (fail closed)",
    "off": "hedging is off for this stage",
    "failed": "FAILED: the hedge step stopped with an error (the books traded; re-run the day "
    "to retry the hedge)",
}


def hedge_sections(summary: HedgeSummary | None) -> list[Section]:
    """Return the report sections of the run's hedge (none when the run stored no hedge)."""
    if summary is None:
        return []
    lines = [f"Decision: {_DECISIONS.get(summary.decision, summary.decision)}"]
    lines += [f"Why: {reason}" for reason in summary.reasons]
    if summary.decision in ("off", "failed"):
        return [Section("Hedge", lines=lines)]
    lines += _overview(summary)
    lines += [f"Clipped: {clip}" for clip in summary.clips]
    sections = [Section("Hedge", lines=lines)]
    if summary.positions:
        sections.append(Section("Hedge positions", table=_positions(summary)))
    if summary.orders:
        sections.append(Section("Hedge orders", table=_orders(summary)))
    return sections


def _overview(summary: HedgeSummary) -> list[str]:
    lines = []
    if summary.policy:
        lines.append(f"Policy: {summary.policy}")
    if summary.underlying:
        lines.append(
            f"Exposure: {money(summary.equity_delta)} of {summary.underlying} delta at "
            f"{summary.spot:.2f}, account NAV {money(summary.nav)}"
        )
    lines.append(
        f"Premium: {money(summary.spent_month)} of {money(summary.cap_month)} this month, "
        f"{money(summary.spent_year)} of {money(summary.cap_year)} over 12 months"
    )
    if summary.protection:
        pays = ", ".join(
            f"{Decimal(move):.0%}: {money(value)}" for move, value in summary.protection.items()
        )
        lines.append(
            f"Protection (what the held hedges pay if {summary.underlying or 'the underlying'} moves): {pays}"
        )
    lines.append(f"Next roll: {summary.next_roll.isoformat() if summary.next_roll else NONE}")
    lines.append(
        f"Hedge book P&L: realised {money(summary.realised)}, unrealised {money(summary.unrealised)}"
    )
    if summary.regime:
        lines.append(f"IV regime: {summary.regime}")
    return lines


def _positions(summary: HedgeSummary) -> Table:
    rows = []
    for position in summary.positions:
        for leg in position.legs:
            rows.append(
                (
                    position.hedge_id, leg.symbol, str(leg.qty), str(position.dte),
                    f"{leg.delta:.3f}", f"{leg.gamma:.4f}", f"{leg.vega:.3f}",
                    money(position.value), money(position.premium),
                )
            )  # fmt: skip
    headers = ("hedge", "contract", "qty", "DTE", "delta", "gamma", "vega", "value", "premium")
    return Table(headers, rows)


def _orders(summary: HedgeSummary) -> Table:
    rows = [
        (
            o.kind, o.hedge_id, f"{o.filled} of {o.qty}", o.outcome or NONE,
            f"{o.avg_price:.2f}" if o.avg_price is not None else NONE, o.reason,
        )
        for o in summary.orders
    ]  # fmt: skip
    headers = ("order", "hedge", "filled", "outcome", "avg price", "why")
    return Table(headers, rows, loud=frozenset({"rejected", "refused"}))

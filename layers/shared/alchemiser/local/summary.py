"""What a local run prints: a readable summary, or the JSON the issue specifies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from alchemiser.broker.models import OrderSide
from alchemiser.cycle.artifacts import find_model, hedge_key
from alchemiser.hedge.summary import HedgeSummary
from alchemiser.ledger.models import OrderState
from alchemiser.local.cycle_runner import LocalRun
from alchemiser.local.run_view import run_view
from alchemiser.reporting.report import readable_error
from alchemiser.reporting.wording import order_outcome
from alchemiser.storage.local import LocalObjectStore


def summarize(run: LocalRun) -> dict[str, Any]:
    """Return {"status", "run_id", "trading_date", "books", "orders", "report", ...} for a run."""
    state = run_view(run)
    plan = state.get("plan") or {}
    reconcile = state.get("reconcile") or {}
    orders_plan = state.get("orders") or {}
    outcomes = {b["book_id"]: b for b in reconcile.get("books", [])}
    books = [_book(p, outcomes.get(p["book_id"])) for p in state.get("books", [])]
    netting = orders_plan.get("netting")
    message = plan.get("reason", "")
    if run.execution.status != "SUCCEEDED":
        message = f"{run.execution.error}: {readable_error(run.execution.cause or '')}"
    elif orders_plan.get("blocked_reason"):
        message = f"nothing traded: {orders_plan['blocked_reason']}"
    notified = state.get("notify") or {}
    report = notified.get("report_key")
    hedge = find_model(LocalObjectStore(run.home), hedge_key(run.run_id), HedgeSummary)
    return {
        "status": "SUCCEEDED" if run.execution.status == "SUCCEEDED" else "FAILED",
        "run_id": plan.get("run_id") or run.run_id,
        "trading_date": run.trading_date.isoformat(),
        "data_source": run.data_source,
        "synthetic_market": run.synthetic_market,
        "message": message,
        "already_traded": bool(plan.get("already_traded")),
        "books": books,
        "orders": _orders(state),
        "netting": netting,
        "account_pnl": _pnl(reconcile.get("account_pnl")),
        "pool": _cents((reconcile.get("account") or {}).get("pool")),
        "account": _account(reconcile.get("account")),
        "hedge": hedge.model_dump(mode="json") if hedge else None,
        "warnings": [
            *run.recovered,
            *plan.get("warnings", []),
            *reconcile.get("warnings", []),
        ],
        "report": report,
        "dashboard": notified.get("dashboard") or None,
        "home": str(run.home),
        "history": str(run.history_path),
    }


def _cents(value: Any) -> str | None:
    return None if value is None else str(Decimal(str(value)).quantize(Decimal("0.01")))


def _price(value: Any) -> str | None:
    """Show an average fill price to 1/100 of a cent (the ledger keeps it exact)."""
    return None if value is None else str(Decimal(str(value)).quantize(Decimal("0.0001")))


def _pnl(pnl: dict[str, Any] | None) -> dict[str, str | None] | None:
    """Round P&L to cents for people (the ledger keeps it exact)."""
    return (
        None
        if pnl is None
        else {k: _cents(pnl.get(k)) for k in ("realised", "unrealised", "total")}
    )


def _book(plan: dict[str, Any], outcome: dict[str, Any] | None) -> dict[str, Any]:
    # Once reconciled, the outcome's status says what happened (traded, not traded, ...).
    status = (outcome or {}).get("status") or plan.get("status")
    book = {
        "book_id": plan["book_id"],
        "strategy": plan.get("strategy"),
        "status": status,
        "reason": readable_error(plan.get("reason", "")),
        "target_weights": plan.get("target_weights", {}),
        "trades": [
            {"symbol": t["symbol"], "side": t["side"], "qty": t["qty"], "notional": t["notional"]}
            for t in plan.get("trades", [])
        ],
        "held": [
            {"symbol": h["symbol"], "notional": h["notional"], "reason": h["reason"]}
            for h in plan.get("held", [])
        ],
        "capital": plan.get("capital"),
    }
    if outcome is not None:
        book |= {
            "mode": outcome.get("mode", "live"),
            "positions": outcome.get("positions", {}),
            "cash": _cents(outcome.get("cash")),
            "nav": _cents(outcome.get("equity")),
            "equity": outcome.get("equity"),
            "transfers": _cents(outcome.get("transfers")),
            "twr_day": outcome.get("twr_day"),
            "twr_inception": outcome.get("twr_inception"),
            "pnl": _pnl(outcome.get("pnl")),
        }
    return book


def _account(account: dict[str, Any] | None) -> dict[str, Any] | None:
    """The account after the day: pool, NAV, the broker's equity, what is unexplained, TWR."""
    if account is None:
        return None
    return {
        "pool": _cents(account.get("pool")),
        "nav": _cents(account.get("nav")),
        "broker_equity": _cents(account.get("broker_equity")),
        "unexplained": _cents(account.get("unexplained")),
        "flows": _cents(account.get("flows")),
        "twr_day": account.get("twr_day"),
        "twr_inception": account.get("twr_inception"),
        "transfers": account.get("transfers", []),
        "hedge": _hedge_book(account.get("hedge")),
    }


def _hedge_book(hedge: dict[str, Any] | None) -> dict[str, Any] | None:
    """The hedge book after the day: NAV = cash + options at mid, premium, funding, TWR."""
    if hedge is None:
        return None
    return {
        "nav": _cents(hedge.get("nav")),
        "cash": _cents(hedge.get("cash")),
        "options": _cents(hedge.get("options")),
        "transfers": _cents(hedge.get("transfers")),
        "premium_month": _cents(hedge.get("premium_month")),
        "premium_year": _cents(hedge.get("premium_year")),
        "twr_day": hedge.get("twr_day"),
        "twr_inception": hedge.get("twr_inception"),
    }


def _percent(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):+.2%}"


def _orders(state: dict[str, Any]) -> list[dict[str, Any]]:
    plan = state.get("orders") or {}
    executed = "execution" in state
    execution = (state.get("execution") or {}).get("orders") or {}
    results = {
        r["client_order_id"]: r
        for r in [*execution.get("sell_results", []), *execution.get("buy_results", [])]
    }
    gate = execution.get("gate") or {}
    blocked = "" if gate.get("buys_allowed", True) else gate.get("reason", "")
    orders = [
        _order(order, results.get(order["client_order_id"]), executed)
        for order in [*plan.get("sell_orders", []), *plan.get("buy_orders", [])]
    ]
    for order in orders:
        if order["side"] == "buy" and order["state"] == OrderState.PLANNED and blocked:
            order["reason"] = blocked  # why a buy was never sent
    return orders


def _order(order: dict[str, Any], result: dict[str, Any] | None, executed: bool) -> dict[str, Any]:
    """One order as planned and as executed, its status in words that match its quantities."""
    found = result or {}
    qty, ref_price = Decimal(order["qty"]), Decimal(order["ref_price"])
    filled, avg_price = found.get("filled_qty", "0"), found.get("avg_price")
    state = OrderState(found.get("state", OrderState.PLANNED))
    if result is None and not executed:
        status = "planned (the run stopped before executing orders)"
    else:
        status = order_outcome(
            OrderSide(order["side"]),
            qty,
            ref_price,
            Decimal(filled),
            None if avg_price is None else Decimal(avg_price),
            state,
        )
    return {
        "symbol": order["symbol"],
        "side": order["side"],
        "qty": order["qty"],
        "notional": str((qty * ref_price).quantize(Decimal("0.01"))),
        "client_order_id": order["client_order_id"],
        "status": status,
        "state": state.value,
        "filled_qty": filled,
        "avg_price": _price(avg_price),
        "reason": readable_error(found.get("reason", "")),
    }


def render_summary(summary: dict[str, Any]) -> str:
    """Return the console summary of a run."""
    lines = [
        f"The Alchemiser daily cycle: {summary['run_id']} ({summary['trading_date']}) {summary['status']}"
    ]
    lines.append(f"Data: {summary['data_source']}")
    if summary["synthetic_market"]:
        lines.append(
            "NOTE: this run used the deterministic SYNTHETIC demo market (pass --data DIR for real prices)"
        )
    if summary["message"]:
        lines.append(summary["message"])
    for book in summary["books"]:
        status = str(book["status"]).replace("_", " ")
        mode = "" if book.get("mode", "live") == "live" else f" [{book['mode']}]"
        lines.append(
            f"Book {book['book_id']} ({book['strategy'] or 'no strategy'}){mode}: {status}"
        )
        if book.get("reason"):
            lines.append(f"  reason: {book['reason']}")
        if book["target_weights"]:
            targets = ", ".join(
                f"{t} {float(w):.1%}" for t, w in sorted(book["target_weights"].items())
            )
            lines.append(f"  targets: {targets}")
        for trade in book["trades"]:
            lines.append(
                f"  planned: {trade['side'].upper()} {trade['qty']} {trade['symbol']} (${trade['notional']})"
            )
        for held in book["held"]:
            lines.append(f"  held: {held['symbol']} (${held['notional']}): {held['reason']}")
        if "cash" in book:
            pnl = book.get("pnl") or {}
            lines.append(
                f"  NAV ${book['nav']} (cash ${book['cash']}), return today "
                f"{_percent(book['twr_day'])}, since inception {_percent(book['twr_inception'])}; "
                f"P&L total ${pnl.get('total', '0')}"
                f" (realised ${pnl.get('realised', '0')}, unrealised ${pnl.get('unrealised', '0')})"
            )
    account = summary.get("account")
    if account:
        hedge = account.get("hedge")
        hedged = f" + hedge ${hedge['nav']}" if hedge else ""
        lines.append(
            f"Account: NAV ${account['nav']} = pool ${account['pool']} + books{hedged}; broker "
            f"equity ${account['broker_equity']} (unexplained ${account['unexplained']}); return "
            f"today {_percent(account['twr_day'])}, since inception "
            f"{_percent(account['twr_inception'])}"
        )
        if hedge:
            lines.append(
                f"  hedge book: NAV ${hedge['nav']} (cash ${hedge['cash']}, options "
                f"${hedge['options']}), premium ${hedge['premium_month']} this month, "
                f"${hedge['premium_year']} in 12 months; return today "
                f"{_percent(hedge['twr_day'])}, since inception {_percent(hedge['twr_inception'])}"
            )
        for transfer in account["transfers"]:
            lines.append(f"  transfer {transfer}")
    if summary["netting"]:
        n = summary["netting"]
        lines.append(
            f"Netting: {n['book_trades']} book trades -> {n['orders']} orders, ${n['notional_saved']} not traded"
        )
    if summary["orders"]:
        lines.append("Orders:")
        for o in summary["orders"]:
            price = f" @ {o['avg_price']}" if o["avg_price"] else ""
            # A complete order's note (where its cash cap stopped it) is in the JSON and report.
            reason = f" ({o['reason']})" if o["reason"] and o["status"] != "filled" else ""
            lines.append(
                f"  {o['side'].upper():4} {o['qty']} {o['symbol']} (${o['notional']}): {o['status']}, "
                f"filled {o['filled_qty']}{price}{reason}   [{o['client_order_id']}]"
            )
    elif summary["status"] == "SUCCEEDED":
        lines.append("Orders: none placed by this run")
    lines += _hedge_lines(summary.get("hedge"))
    for warning in summary["warnings"]:
        lines.append(f"warning: {warning}")
    if summary["report"]:
        lines.append(f"Report: {summary['report']}")
    if summary.get("dashboard"):
        lines.append(f"Dashboard: {summary['dashboard']}")
    lines.append(f"Execution history: {summary['history']}")
    lines.append(f"Home (account, ledger, reports): {summary['home']}")
    if summary["status"] == "FAILED":
        lines.append(
            "Re-run the same command to redrive the day: placed orders are found by client id, never repeated."
        )
    return "\n".join(lines)


def _hedge_lines(hedge: dict[str, Any] | None) -> list[str]:
    """Return the hedge's lines: its decision and why, then what each option order did."""
    if hedge is None:
        return []
    lines = [f"Hedge: {hedge['decision']}"]
    lines += [f"  {reason}" for reason in hedge["reasons"]]
    lines += [f"  clipped: {clip}" for clip in hedge["clips"] if hedge["decision"] == "hedged"]
    for order in hedge["orders"]:
        price = f" @ {float(order['avg_price']):.2f}" if order["avg_price"] else ""
        lines.append(
            f"  {order['kind']} {order['hedge_id']}: {order['outcome']}, "
            f"filled {order['filled']} of {order['qty']}{price}"
        )
    if hedge["positions"]:
        held = ", ".join(p["hedge_id"] for p in hedge["positions"])
        pays = ", ".join(f"{float(m):.0%} ${float(v):,.0f}" for m, v in hedge["protection"].items())
        lines.append(f"  held: {held}; pays {pays}; next roll {hedge['next_roll']}")
    return lines

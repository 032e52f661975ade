"""One day of the hedge book: check, mark, roll, size, buy, and report why.

``run_hedge_day`` is the library the cycle's Hedge branch calls (wired into the state
machine in part 2). In order, each step failing closed with its reason:

1. no policy (the stage has no ``hedge:``), or a halt (kill switch): nothing is traded;
2. the broker's option positions must equal the hedge book's contracts, else refuse;
3. the put chain (contracts with open interest, snapshots with IV and greeks) and
   today's ATM IV (stored, then classified: ``iv_regime``);
4. every held hedge is marked; one that cannot be is a refusal of the whole day;
5. hedges due to roll (``roll.roll_reasons``) or on another underlying are closed:
   one order per hedge (a multi-leg order for a spread);
6. a new hedge is selected (``chain.select_structure``), sized (``sizing.size_hedge``)
   against the book's premium history and bought with ``execution`` at most at the
   sizing's price cap.

The returned ``HedgeDayReport`` carries the next ``HedgeBookState``: the caller stores
it. Re-running a day with that state buys nothing twice (the held hedge and the spent
premium are in it; the walk finds its orders by client id).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from alchemiser.broker.options_models import (
    OptionLeg,
    OptionRight,
    PositionIntent,
    parse_occ,
)
from alchemiser.hedge.book import EventKind, HedgeRecord
from alchemiser.hedge.chain import (
    ChainOption,
    Refusal,
    atm_implied_vol,
    join_chain,
    select_structure,
)
from alchemiser.hedge.daily_models import (
    HedgeAction,
    HedgeDayInputs,
    HedgeDayReport,
    HedgePorts,
    close_legs,
)
from alchemiser.hedge.execution import (
    OptionExecution,
    OptionOrderPlan,
    Outcome,
    execute_option_order,
)
from alchemiser.hedge.iv_regime import RegimeReading, iv_regime
from alchemiser.hedge.journal import OrderIntent, apply_fills
from alchemiser.hedge.policy import TEMPLATES, HedgePolicy, TemplateSpec
from alchemiser.hedge.roll import (
    MarkedHedge,
    MarkFailure,
    mark_hedge,
    next_roll,
    roll_reasons,
    settlement_value,
)
from alchemiser.hedge.sizing import (
    Clip,
    SizingDecision,
    SizingInputs,
    Structure,
    payoff_target,
    size_hedge,
    structure_from_pick,
)

PROTECTION_MOVES = (Decimal("-0.1"), Decimal("-0.2"), Decimal("-0.3"))
ATM_CHAIN = (20, 45, ("0.95", "1.05"))  # the puts that give today's 30-day ATM IV
SELECTION_STRIKES = ("0.5", "1.05")


def run_hedge_day(inputs: HedgeDayInputs, ports: HedgePorts) -> HedgeDayReport:
    """Run the hedge book for one day; never raises for a market condition, reports it."""
    return _HedgeDay(inputs, ports).run()


class _HedgeDay:
    def __init__(self, inputs: HedgeDayInputs, ports: HedgePorts) -> None:
        self.inputs, self.ports = inputs, ports
        self.report = HedgeDayReport(inputs.run_id, inputs.today, inputs.state)
        self.state = inputs.state
        self.expiring: set[str] = set()  # worthless hedges left to expire (no bid to sell)

    def run(self) -> HedgeDayReport:
        policy, report = self.inputs.policy, self.report
        if policy is None:
            report.reasons.append("hedging is off for this stage (no hedge: in books.yaml)")
            return report
        if self.inputs.halt_reason:
            return report.refuse(f"halted: {self.inputs.halt_reason}")
        unsettled = self._settle_expired()
        if unsettled:
            return report.refuse(unsettled)
        drift = self._drift()
        if drift:
            return report.refuse(drift)
        spec = TEMPLATES[policy.template]
        regime = self._regime(self._chain(*ATM_CHAIN))
        if regime is None:
            return report.refuse(f"no implied vol in the {self.inputs.underlying} chain: no hedge")
        marks = self._marks()
        if isinstance(marks, MarkFailure):
            return report.refuse(marks.reason)
        if self._rolls(marks, spec):
            self._open(policy, spec, regime)
        self._summarise(policy, spec)
        return report

    # -- checks and data --------------------------------------------------------------------

    def _settle_expired(self) -> str:
        """Book the hedges whose contracts expired before today at intrinsic value."""
        for record in self.state.hedges:
            expiries = {parse_occ(leg.symbol).expiry for leg in record.legs}
            if min(expiries) >= self.inputs.today:
                continue
            expiry = min(expiries)
            close = self.ports.close_of(record.underlying, expiry)
            if close is None:
                return (
                    f"hedge {record.hedge_id} expired on {expiry} but there is no "
                    f"{record.underlying} close that day to settle it"
                )
            value = settlement_value(record, close)
            reason = f"expired {expiry} with {record.underlying} at {close}"
            self.state = self.state.closed(
                record.hedge_id,
                self.inputs.today,
                value,
                EventKind.EXPIRY,
                reason,
            )
            self.report.reasons.append(f"hedge {record.hedge_id} {reason}: settled for {value:.2f}")
        return ""

    def _drift(self) -> str:
        held = {p.symbol: p.qty for p in self.ports.broker.option_positions() if p.qty}
        book = self.state.contracts()
        if held == book:
            return ""
        symbols = sorted(set(held) | set(book))
        diffs = ", ".join(
            f"{s} broker {held.get(s, 0)} vs book {book.get(s, 0)}"
            for s in symbols
            if held.get(s, 0) != book.get(s, 0)
        )
        return (
            f"option positions at the broker disagree with the hedge book ({diffs}): "
            "no option order until reconciled"
        )

    def _chain(self, first_dte: int, last_dte: int, strikes: tuple[str, str]) -> list[ChainOption]:
        """Return the puts expiring in [first_dte, last_dte] days, strikes as fractions of spot."""
        today, spot, broker = self.inputs.today, self.inputs.spot, self.ports.broker
        first, last = today + timedelta(days=first_dte), today + timedelta(days=last_dte)
        band = (spot * Decimal(strikes[0]), spot * Decimal(strikes[1]))
        underlying = self.inputs.underlying
        contracts = broker.option_contracts(underlying, first, last, OptionRight.PUT, band)
        snapshots = broker.option_chain(underlying, first, last, OptionRight.PUT, band)
        return join_chain(contracts, snapshots)

    def _regime(self, chain: list[ChainOption]) -> RegimeReading | None:
        atm = atm_implied_vol(chain, self.inputs.spot, self.inputs.today)
        if atm is None:
            return None
        history = self.ports.iv_history
        stored = history.before(self.inputs.underlying, self.inputs.today)
        history.record(self.inputs.underlying, self.inputs.today, atm)
        self.report.regime = iv_regime(stored, atm, self.ports.limits)
        return self.report.regime

    def _marks(self) -> list[MarkedHedge] | MarkFailure:
        """Mark every held hedge, each against its own underlying's price."""
        policy = self.inputs.policy
        moves = tuple(
            sorted({*PROTECTION_MOVES, policy.protect.move if policy else Decimal("-0.2")})
        )
        symbols = sorted({leg.symbol for h in self.state.hedges for leg in h.legs})
        snapshots = self.ports.broker.option_snapshots(symbols) if symbols else {}
        marks: list[MarkedHedge] = []
        for record in self.state.hedges:
            spot = self.inputs.spot
            if record.underlying != self.inputs.underlying:
                found = self.ports.close_of(record.underlying, self.inputs.today)
                if found is None:
                    return MarkFailure(
                        record.hedge_id,
                        f"no {record.underlying} price today to mark hedge {record.hedge_id}",
                    )
                spot = found
            marked = mark_hedge(record, snapshots, spot, self.inputs.today, moves)
            if isinstance(marked, MarkFailure):
                return marked
            marks.append(marked)
        return marks

    # -- rolls ------------------------------------------------------------------------------

    def _rolls(self, marks: list[MarkedHedge], spec: TemplateSpec) -> bool:
        """Close every hedge due to roll; return False when a close failed (no new hedge)."""
        for marked in marks:
            reasons = roll_reasons(
                marked, spec, self.ports.limits, self.inputs.spot, self.inputs.today
            )
            if marked.record.underlying != self.inputs.underlying:
                reasons.append(f"the hedge underlying is now {self.inputs.underlying}")
            if reasons and not self._close(marked.record, "; ".join(reasons)):
                return False
        return True

    def _worthless(self, record: HedgeRecord) -> str:
        """Return why a hedge cannot be sold because it is worth nothing ("" if it can)."""
        symbols = [leg.symbol for leg in record.legs]
        quotes = self.ports.broker.option_snapshots(symbols)
        for leg in record.legs:
            quote = quotes.get(leg.symbol)
            if leg.qty > 0 and quote is not None and quote.bid == 0:
                return f"{leg.symbol} has no bid (ask {quote.ask})"
        return ""

    def _close(self, record: HedgeRecord, reason: str) -> bool:
        """Close one hedge in one order; return False when that failed (not merely worthless)."""
        worthless = self._worthless(record)
        if worthless:
            self.expiring.add(record.hedge_id)
            self.report.reasons.append(
                f"hedge {record.hedge_id} is due to roll ({reason}) but {worthless}: "
                "left to expire worthless"
            )
            return True
        legs, units = close_legs(record)
        intent = OrderIntent(
            run_id=self.inputs.run_id, tag=f"c-{record.hedge_id}", kind="close",
            day=self.inputs.today, hedge_id=record.hedge_id, legs=legs, qty=units, reason=reason,
        )  # fmt: skip
        plan = OptionOrderPlan(intent.run_id, intent.tag, legs, units, liquidity_checks=False)
        execution = self._execute(intent, plan)
        self.report.actions.append(HedgeAction("close", record.hedge_id, reason, execution))
        filled = execution.filled_qty
        if filled == 0:
            self.report.refuse(
                f"could not close hedge {record.hedge_id} ({reason}): "
                f"{execution.outcome.value if execution.outcome else ''} {execution.reason}; "
                "no new hedge today"
            )
            return False
        self.state, _ = apply_fills(self.state, intent, execution)
        if filled == units:
            return True
        self.report.refuse(
            f"hedge {record.hedge_id} closed {filled} of {units}: {execution.reason}; "
            "no new hedge today"
        )
        return False

    def _execute(self, intent: OrderIntent, plan: OptionOrderPlan) -> OptionExecution:
        """Journal ``intent`` (so a crash before the state is saved loses no fill), then walk."""
        ports = self.ports
        if ports.journal is not None:
            ports.journal(intent)
        return execute_option_order(
            plan, ports.broker, ports.clock, ports.limits, ports.walk, ports.deadline
        )

    # -- a new hedge ------------------------------------------------------------------------

    def _open(self, policy: HedgePolicy, spec: TemplateSpec, regime: RegimeReading) -> None:
        marks = self._marks()
        if isinstance(marks, MarkFailure):
            self.report.refuse(marks.reason)
            return
        inputs = self._sizing_inputs(policy, marks, regime)
        blocked = self._nothing_to_buy(policy, inputs)
        if blocked:
            self.report.reasons.append(f"no new hedge: {blocked}")
            return
        chain = self._chain(spec.min_dte, spec.max_dte, SELECTION_STRIKES)
        pick = select_structure(
            chain, spec, self.inputs.today, self.ports.clock.now(), self.ports.limits
        )
        if isinstance(pick, Refusal):
            self.report.reasons.append(f"no new hedge: {pick.reason}")
            return
        structure = structure_from_pick(pick, self.inputs.underlying)
        sizing = size_hedge(inputs, structure, policy.protect, policy.budget, self.ports.limits)
        self.report.sizing, self.report.clips = sizing, sizing.clips
        if sizing.contracts == 0:
            why = "; ".join(str(c) for c in sizing.clips) or "the target needs no contract"
            self.report.reasons.append(f"no new hedge: {why}")
            return
        self._buy(policy, structure, sizing)

    def _nothing_to_buy(self, policy: HedgePolicy, inputs: SizingInputs) -> str:
        """Return why no hedge can be bought today before any chain is read ("" if one may)."""
        today, state, nav = self.inputs.today, self.state, inputs.nav
        bought = [e.hedge_id for e in state.events if e.kind is EventKind.OPEN and e.day == today]
        if bought:
            return (
                f"{bought[0]} was bought today (one purchase a day, so a re-run buys nothing twice)"
            )
        clips: list[Clip] = []
        if payoff_target(inputs, policy.protect, clips) <= 0:
            self.report.clips = tuple(clips)
            return "; ".join(str(c) for c in clips) or "the policy asks for no protection"
        for label, spent, cap in (
            ("monthly", inputs.spent_month, policy.budget.monthly * nav),
            ("yearly", inputs.spent_year, policy.budget.yearly * nav),
        ):
            if spent >= cap:
                return f"the {label} premium budget is spent (${spent:,.2f} of ${cap:,.2f})"
        if inputs.open_hedges >= self.ports.limits.max_open_hedges:
            most = self.ports.limits.max_open_hedges
            return f"{inputs.open_hedges} hedges open, the most allowed is {most}"
        return ""

    def _sizing_inputs(
        self, policy: HedgePolicy, marks: list[MarkedHedge], regime: RegimeReading
    ) -> SizingInputs:
        today = self.inputs.today
        option_delta = sum((m.delta for m in marks), Decimal(0))
        return SizingInputs(
            nav=self.inputs.nav, equity_delta=self.inputs.equity_delta,
            net_delta=self.inputs.equity_delta + option_delta, spot=self.inputs.spot, today=today,
            held_payoff=sum((m.payoff_at(policy.protect.move) for m in marks), Decimal(0)),
            spent_month=self.state.month_to_date(today),
            spent_year=self.state.last_twelve_months(today),
            open_hedges=sum(1 for m in marks if m.record.hedge_id not in self.expiring),
            payoff_scale=regime.payoff_scale, regime_note=regime.note, cash=self._cash(),
        )  # fmt: skip

    def _cash(self) -> Decimal | None:
        """Return the hedge book's cash now: as funded, plus the cash of later events."""
        if self.inputs.cash is None:
            return None
        later = self.state.events[self.inputs.cash_events :]
        return self.inputs.cash + sum((e.amount for e in later), Decimal(0))

    def _buy(self, policy: HedgePolicy, structure: Structure, sizing: SizingDecision) -> None:
        long_symbol = structure.legs[0].symbol
        legs = tuple(
            OptionLeg(
                symbol=leg.symbol,
                intent=PositionIntent.BUY_TO_OPEN if leg.ratio > 0 else PositionIntent.SELL_TO_OPEN,
            )
            for leg in structure.legs
        )
        reason = (
            f"pay {sizing.promised_payoff} at {policy.protect.move:.0%} "
            f"({sizing.contracts} x {sizing.unit_payoff})"
        )
        intent = OrderIntent(
            run_id=self.inputs.run_id, tag=f"o-{long_symbol}", kind="open", day=self.inputs.today,
            hedge_id=f"{self.inputs.today:%Y%m%d}-{long_symbol}", legs=legs, qty=sizing.contracts,
            reason=reason, underlying=structure.underlying, template=policy.template,
            signed_ratios=tuple(leg.ratio for leg in structure.legs),
            unit_payoff=sizing.unit_payoff, spot=self.inputs.spot,
        )  # fmt: skip
        plan = OptionOrderPlan(intent.run_id, intent.tag, legs, sizing.contracts, sizing.max_price)
        execution = self._execute(intent, plan)
        self.report.actions.append(HedgeAction("open", intent.hedge_id, reason, execution))
        filled = execution.filled_qty
        if filled == 0 and execution.outcome is Outcome.REJECTED:
            self.report.refuse(f"new hedge refused by the broker: {execution.reason}")
            return
        if filled == 0:
            self.report.reasons.append(
                f"new hedge not bought: {execution.outcome} {execution.reason}".rstrip()
            )
            return
        self.state, _ = apply_fills(self.state, intent, execution)
        self.report.decision = "hedged"
        if execution.outcome is Outcome.PARTIAL:
            self.report.reasons.append(
                f"new hedge filled {filled} of {sizing.contracts}: {execution.reason}"
            )

    # -- the summary ------------------------------------------------------------------------

    def _summarise(self, policy: HedgePolicy, spec: TemplateSpec) -> None:
        report, today = self.report, self.inputs.today
        report.state = self.state
        report.spent_month = self.state.month_to_date(today)
        report.spent_year = self.state.last_twelve_months(today)
        marks = self._marks()
        if isinstance(marks, MarkFailure):
            report.reasons.append(f"after trading: {marks.reason}")
            return
        report.marks = marks
        report.protection = {
            str(m): sum((h.payoff_at(m) for h in marks), Decimal(0)) for m in PROTECTION_MOVES
        }
        report.next_roll = min((next_roll(m, spec, today) for m in marks), default=None)


__all__ = [
    "HedgeAction",
    "HedgeDayInputs",
    "HedgeDayReport",
    "HedgePorts",
    "close_legs",
    "run_hedge_day",
]

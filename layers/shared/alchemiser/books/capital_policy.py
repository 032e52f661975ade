"""The capital policy: when capital moves between the books and the pool, and how much.

The account is the books' NAVs plus an unallocated **pool** of cash. ``books.yaml``
gives each book a target share; the stage's ``capital-rebalance:`` says when capital
moves back to those shares:

* ``none``      -- never (a winning book keeps compounding its own capital);
* ``monthly``   -- on the first day of a new calendar month since the last rebalance;
* ``quarterly`` -- on the first day of a new calendar quarter since the last rebalance;
* a threshold (default 0.05) -- whenever a book's share of the capital drifts *more*
  than that many points (0.05 = 5 points) from its target.

A capital rebalance moves **every** book to ``target share x capital`` (the pool takes
or gives the difference), so no capital sits idle in the pool beyond ``1 - sum(shares)``.
A book that has no NAV yet (a new book, or a symphony whose data starts late) is
**funded** from the pool the day it joins, whatever the policy: with its target share
when the pool holds it, else pro rata with the other new books from what the pool has
(the rest comes at the next capital rebalance; under ``none``, never).

The capital the shares apply to is ``pool + sum(NAV of the books in targets)``. A book
the ledger still knows but the targets do not (retired, being wound down) is left out:
its NAV is not capital any book can receive until it is flat and its cash is back in
the pool, and its share drift is not checked.

Amounts are Decimal dollars in cents, rounded in the pool's favour (down on the way
into a book, up on the way out), so the pool never goes below zero. Transfers under a cent are not made. A transfer is internal
bookkeeping, never a broker order; the trades it causes go through the book's plan.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alchemiser.money import CENT, ZERO

DEFAULT_THRESHOLD: Final = Decimal("0.05")
# Target shares are Decimals from books.yaml; this only absorbs a float caller's noise.
_SHARE_SUM_TOLERANCE: Final = Decimal("0.000001")


class CapitalRebalance(StrEnum):
    """When capital moves back to the target shares (the ``capital-rebalance:`` value)."""

    NONE = "none"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    THRESHOLD = "threshold"


class CapitalPolicy(BaseModel):
    """A stage's capital policy; ``threshold`` (points as a fraction) only with THRESHOLD."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rebalance: CapitalRebalance = CapitalRebalance.THRESHOLD
    threshold: Decimal | None = Field(None, gt=0, lt=1)

    @model_validator(mode="before")
    @classmethod
    def _default_threshold(cls, data: Any) -> Any:
        """Give the threshold rule its default threshold when none is given."""
        if not isinstance(data, dict) or data.get("threshold") is not None:
            return data
        if CapitalRebalance(data.get("rebalance", CapitalRebalance.THRESHOLD)) is not (
            CapitalRebalance.THRESHOLD
        ):
            return data
        return {**data, "threshold": DEFAULT_THRESHOLD}

    @model_validator(mode="after")
    def _threshold_iff_threshold_rule(self) -> Self:
        if self.rebalance is CapitalRebalance.THRESHOLD and self.threshold is None:
            raise ValueError("a threshold capital policy needs a threshold in (0, 1)")
        if self.rebalance is not CapitalRebalance.THRESHOLD and self.threshold is not None:
            raise ValueError(f"a {self.rebalance.value} capital policy takes no threshold")
        return self

    def describe(self) -> str:
        """Say the policy in words, as the command line and reports show it."""
        if self.rebalance is CapitalRebalance.THRESHOLD:
            points = f"{float(self.threshold) * 100:g}" if self.threshold is not None else "?"
            return (
                f"threshold {self.threshold}: back to the target shares when a book drifts "
                f"more than {points} points"
            )
        if self.rebalance is CapitalRebalance.NONE:
            return "none: books keep what they earn, new books are funded from the pool"
        return f"{self.rebalance.value}: back to the target shares on the first day of each new {self.rebalance.value[:-2]}"


DEFAULT_CAPITAL_POLICY: Final = CapitalPolicy()


class TransferReason(StrEnum):
    """Why capital moved: a book joined, the calendar came round, or a share drifted."""

    FUND = "fund"
    SCHEDULED = "scheduled"
    DRIFT = "drift"


class CapitalTransfer(BaseModel):
    """One internal transfer: ``amount`` > 0 moves pool -> book, < 0 book -> pool (cents)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    book_id: str
    amount: Decimal
    reason: TransferReason
    detail: str


class CapitalDecision(BaseModel):
    """The day's transfers, and whether the policy's rebalance happened (record the day)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date
    transfers: tuple[CapitalTransfer, ...]
    rebalanced: bool
    reason: str

    @property
    def pool_change(self) -> Decimal:
        """Return what the pool gains (negative: gives) from these transfers."""
        return -sum((t.amount for t in self.transfers), ZERO)

    def amount_for(self, book_id: str) -> Decimal:
        """Return the net amount ``book_id`` receives today (0 when it has no transfer)."""
        return sum((t.amount for t in self.transfers if t.book_id == book_id), ZERO)


def _check_inputs(
    navs: Mapping[str, Decimal], pool: Decimal, targets: Mapping[str, Decimal]
) -> Decimal:
    """Return the capital the shares apply to; raise ValueError on inputs that cannot be right."""
    bad_shares = {b: s for b, s in targets.items() if not ZERO < s <= 1}
    if bad_shares:
        raise ValueError(f"target shares must be in (0, 1], found {bad_shares}")
    total = sum(targets.values(), ZERO)
    if total > 1 + _SHARE_SUM_TOLERANCE:
        raise ValueError(f"target shares must sum to at most 1, sum to {total}: {dict(targets)}")
    if pool < 0:
        raise ValueError(
            f"the pool must be >= 0, was {pool}: the books account for more than the account holds"
        )
    capital = pool + sum((navs[b] for b in targets if b in navs), ZERO)
    if not capital > 0:
        raise ValueError(
            f"the capital to share must be > 0, was {capital} (pool {pool}, books {dict(navs)})"
        )
    return capital


def _cents_down(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=decimal.ROUND_DOWN)


def _toward_goal(nav: Decimal, goal: Decimal) -> Decimal:
    """Return the cents that bring ``nav`` to ``goal``, rounded in the pool's favour."""
    if abs(goal - nav) < CENT:
        return ZERO  # under a cent: not a transfer
    if goal >= nav:
        return _cents_down(goal - nav)
    # Rounding up never takes more than the book has (a NAV of a fraction of a cent).
    return -min((nav - goal).quantize(CENT, rounding=decimal.ROUND_UP), nav)


def _calendar_due(rebalance: CapitalRebalance, day: date, last: date | None) -> bool:
    if last is None:
        return True
    if day <= last:
        return False
    if rebalance is CapitalRebalance.MONTHLY:
        return (day.year, day.month) != (last.year, last.month)
    return (day.year, (day.month - 1) // 3) != (last.year, (last.month - 1) // 3)


def _drifted(
    threshold: Decimal,
    navs: Mapping[str, Decimal],
    targets: Mapping[str, Decimal],
    capital: Decimal,
) -> str | None:
    """Return which book drifted past ``threshold`` (the largest drift), or None."""
    drifts = {b: abs(navs[b] / capital - s) for b, s in targets.items() if b in navs}
    if not drifts:
        return None
    book = max(sorted(drifts), key=lambda b: drifts[b])
    if drifts[book] <= threshold:
        return None
    return (
        f"{book}'s share {navs[book] / capital:.4f} is {drifts[book]:.4f} from its target "
        f"{targets[book]}, more than the threshold {threshold}"
    )


def _rebalance_due(
    policy: CapitalPolicy,
    day: date,
    navs: Mapping[str, Decimal],
    targets: Mapping[str, Decimal],
    capital: Decimal,
    last_rebalance: date | None,
) -> tuple[TransferReason | None, str]:
    """Return the rebalance's reason (None: not due) and why, in words."""
    rule = policy.rebalance
    if rule is CapitalRebalance.NONE:
        return None, "capital policy none: no rebalance"
    if rule is CapitalRebalance.THRESHOLD:
        assert policy.threshold is not None  # the model guarantees it
        drift = _drifted(policy.threshold, navs, targets, capital)
        if drift is None:
            return None, f"every book within {policy.threshold} of its target share"
        return TransferReason.DRIFT, drift
    if not _calendar_due(rule, day, last_rebalance):
        return None, f"{rule.value} rebalance already done on {last_rebalance}"
    since = f"last on {last_rebalance}" if last_rebalance else "never done before"
    return TransferReason.SCHEDULED, f"first day of a new {rule.value[:-2]} ({since})"


def _to_targets(
    navs: Mapping[str, Decimal],
    pool: Decimal,
    targets: Mapping[str, Decimal],
    capital: Decimal,
    reason: TransferReason,
    why: str,
) -> list[CapitalTransfer]:
    transfers = []
    for book, share in sorted(targets.items()):
        goal = _cents_down(share * capital)
        if book not in navs:
            detail = f"{book} joins: funded with its {share} of ${capital:,.2f}"
            transfers.append(
                CapitalTransfer(
                    book_id=book, amount=goal, reason=TransferReason.FUND, detail=detail
                )
            )
            continue
        amount = _toward_goal(navs[book], goal)
        if amount != 0:
            detail = f"back to its {share} of ${capital:,.2f}: {why}"
            transfers.append(
                CapitalTransfer(book_id=book, amount=amount, reason=reason, detail=detail)
            )
    return _within_pool(transfers, pool)


def _within_pool(transfers: list[CapitalTransfer], pool: Decimal) -> list[CapitalTransfer]:
    """Trim the largest pool -> book transfers, a cent at a time, until the pool can pay.

    A book less than a cent above its goal gives nothing back (no sub-cent transfer),
    so with NAVs in fractions of a cent the goals can ask the pool for up to a cent per
    book more than it holds; the pool is never overdrawn for it.
    """
    short = -(pool - sum((t.amount for t in transfers), ZERO))
    trimmed = list(transfers)
    while short > 0:
        i = max(range(len(trimmed)), key=lambda k: trimmed[k].amount)
        if trimmed[i].amount <= 0:
            break  # nothing paid out left to trim; cannot happen when the pool was >= 0
        cut = min(CENT, trimmed[i].amount)
        trimmed[i] = trimmed[i].model_copy(update={"amount": trimmed[i].amount - cut})
        short -= cut
    return [t for t in trimmed if t.amount != 0]


def _fund_new_books(
    navs: Mapping[str, Decimal], pool: Decimal, targets: Mapping[str, Decimal], capital: Decimal
) -> list[CapitalTransfer]:
    wanted = {b: _cents_down(s * capital) for b, s in sorted(targets.items()) if b not in navs}
    total = sum(wanted.values(), ZERO)
    if total == 0:
        return []
    scale = min(Decimal(1), pool / total)
    transfers = []
    for book, goal in wanted.items():
        amount = goal if scale == 1 else _cents_down(goal * scale)
        detail = f"{book} joins: funded with its {targets[book]} of ${capital:,.2f}"
        if amount < goal:
            detail = (
                f"{book} joins: funded with ${amount:,.2f} of its {targets[book]} of "
                f"${capital:,.2f} (${goal:,.2f}): the pool held ${pool:,.2f} for "
                f"{len(wanted)} new book(s); the rest comes at the next capital rebalance"
            )
        if amount > 0:
            transfers.append(
                CapitalTransfer(
                    book_id=book, amount=amount, reason=TransferReason.FUND, detail=detail
                )
            )
    return transfers


# The pre-check below widens the threshold by this much, so float noise in the caller's
# drift can never hide a rebalance that the Decimal rule would make.
_PRECHECK_MARGIN: Final = 1e-9


def capital_may_move(
    policy: CapitalPolicy,
    day: date,
    last_rebalance: date | None,
    *,
    joining: bool,
    largest_drift: float,
) -> bool:
    """Tell cheaply whether :func:`decide_capital` could move anything on ``day``.

    False only when it surely makes no transfer: no book joins, and the policy's rule
    is not due (``largest_drift`` is the largest ``|NAV / capital - target share|`` of
    the funded books, in floats). A backtest calls ``decide_capital`` only when this
    says True; the rule itself stays in ``decide_capital``.
    """
    if joining:
        return True
    rule = policy.rebalance
    if rule is CapitalRebalance.NONE:
        return False
    if rule is CapitalRebalance.THRESHOLD:
        assert policy.threshold is not None  # the model guarantees it
        return largest_drift > float(policy.threshold) - _PRECHECK_MARGIN
    return _calendar_due(rule, day, last_rebalance)


def decide_capital(
    policy: CapitalPolicy,
    day: date,
    navs: Mapping[str, Decimal],
    pool: Decimal,
    targets: Mapping[str, Decimal],
    last_rebalance: date | None,
) -> CapitalDecision:
    """Return the transfers (book <-> pool) the policy makes on ``day``, each with its reason.

    ``navs``: every book's NAV today before any transfer (books without one are new);
    ``pool``: the unallocated cash; ``targets``: the target share of every book that
    takes part today; ``last_rebalance``: the day of the last capital rebalance (None:
    never). When ``rebalanced`` is true the caller records ``day`` as the last rebalance.
    """
    capital = _check_inputs(navs, pool, targets)
    reason, why = _rebalance_due(policy, day, navs, targets, capital, last_rebalance)
    if reason is not None:
        transfers = _to_targets(navs, pool, targets, capital, reason, why)
        return CapitalDecision(day=day, transfers=tuple(transfers), rebalanced=True, reason=why)
    funded = _fund_new_books(navs, pool, targets, capital)
    return CapitalDecision(day=day, transfers=tuple(funded), rebalanced=False, reason=why)

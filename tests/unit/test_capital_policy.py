"""The capital policy: each rule with numbers worked out by hand, and its invariants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from alchemiser.books.capital_policy import (
    DEFAULT_CAPITAL_POLICY,
    CapitalPolicy,
    CapitalRebalance,
    TransferReason,
    capital_may_move,
    decide_capital,
)

D = Decimal
THRESHOLD = DEFAULT_CAPITAL_POLICY
MONTHLY = CapitalPolicy(rebalance=CapitalRebalance.MONTHLY)
QUARTERLY = CapitalPolicy(rebalance=CapitalRebalance.QUARTERLY)
NONE = CapitalPolicy(rebalance=CapitalRebalance.NONE)
HALVES = {"a": D("0.5"), "b": D("0.5")}


def amounts(decision: object) -> dict[str, Decimal]:
    return {t.book_id: t.amount for t in decision.transfers}  # type: ignore[attr-defined]


def test_the_default_is_a_five_point_threshold() -> None:
    assert DEFAULT_CAPITAL_POLICY.rebalance is CapitalRebalance.THRESHOLD
    assert DEFAULT_CAPITAL_POLICY.threshold == D("0.05")
    assert CapitalPolicy(rebalance=CapitalRebalance.MONTHLY).threshold is None
    with pytest.raises(ValidationError, match="takes no threshold"):
        CapitalPolicy(rebalance=CapitalRebalance.MONTHLY, threshold=D("0.1"))
    with pytest.raises(ValidationError):
        CapitalPolicy(threshold=D("1.5"))


def test_threshold_moves_every_book_back_when_one_drifts_past_it() -> None:
    # Given a: 40,000 and b: 60,000 with targets 50/50: a is 0.10 below, past 0.05
    decision = decide_capital(
        THRESHOLD, date(2024, 3, 5), {"a": D(40_000), "b": D(60_000)}, D(0), HALVES, None
    )
    # Then 10,000 moves from b to a (through the pool), and the day counts as a rebalance
    assert amounts(decision) == {"a": D(10_000), "b": D(-10_000)}
    assert decision.rebalanced
    assert decision.pool_change == 0
    assert {t.reason for t in decision.transfers} == {TransferReason.DRIFT}
    assert "share 0.4000 is 0.1000 from its target 0.5" in decision.reason


@pytest.mark.parametrize(("a", "b"), [(52_000, 48_000), (55_000, 45_000)])
def test_threshold_holds_within_the_corridor_and_at_its_edge(a: int, b: int) -> None:
    # 2 points of drift, then exactly 5: the rule is "more than", so neither moves
    decision = decide_capital(
        THRESHOLD, date(2024, 3, 5), {"a": D(a), "b": D(b)}, D(0), HALVES, None
    )
    assert decision.transfers == ()
    assert not decision.rebalanced


def test_the_pool_takes_what_the_targets_leave() -> None:
    # Given shares 0.4 + 0.4 (0.2 unallocated) and a: 70,000, b: 30,000, pool 0
    targets = {"a": D("0.4"), "b": D("0.4")}
    decision = decide_capital(
        THRESHOLD, date(2024, 3, 5), {"a": D(70_000), "b": D(30_000)}, D(0), targets, None
    )
    # Then each goes to 40,000 and the pool receives 20,000
    assert amounts(decision) == {"a": D(-30_000), "b": D(10_000)}
    assert decision.pool_change == D(20_000)


def test_monthly_rebalances_on_the_first_day_of_a_new_month_only() -> None:
    navs = {"a": D(40_000), "b": D(60_000)}
    same_month = decide_capital(MONTHLY, date(2024, 1, 31), navs, D(0), HALVES, date(2024, 1, 2))
    new_month = decide_capital(MONTHLY, date(2024, 2, 1), navs, D(0), HALVES, date(2024, 1, 2))
    missed = decide_capital(MONTHLY, date(2024, 2, 14), navs, D(0), HALVES, date(2024, 1, 2))
    assert same_month.transfers == () and not same_month.rebalanced
    assert amounts(new_month) == {"a": D(10_000), "b": D(-10_000)}
    assert new_month.rebalanced and "first day of a new month" in new_month.reason
    # A run that missed the first day of the month catches up on the next one.
    assert missed.rebalanced
    # A tiny drift still counts as the rebalance of the month, with no transfer.
    even = decide_capital(
        MONTHLY, date(2024, 2, 1), {"a": D(50_000), "b": D(50_000)}, D(0), HALVES, date(2024, 1, 2)
    )
    assert even.rebalanced and even.transfers == ()


def test_quarterly_waits_for_a_new_quarter() -> None:
    navs = {"a": D(40_000), "b": D(60_000)}
    last = date(2024, 1, 2)
    assert not decide_capital(QUARTERLY, date(2024, 2, 1), navs, D(0), HALVES, last).rebalanced
    assert not decide_capital(QUARTERLY, date(2024, 3, 28), navs, D(0), HALVES, last).rebalanced
    april = decide_capital(QUARTERLY, date(2024, 4, 1), navs, D(0), HALVES, last)
    assert amounts(april) == {"a": D(10_000), "b": D(-10_000)}
    assert {t.reason for t in april.transfers} == {TransferReason.SCHEDULED}


def test_none_never_rebalances_however_far_a_book_drifts() -> None:
    navs = {"a": D(90_000), "b": D(10_000)}
    decision = decide_capital(NONE, date(2024, 4, 1), navs, D(0), HALVES, None)
    assert decision.transfers == () and not decision.rebalanced


@pytest.mark.parametrize("policy", [THRESHOLD, MONTHLY, QUARTERLY, NONE])
def test_a_new_book_is_funded_from_the_pool_under_every_policy(policy: CapitalPolicy) -> None:
    # Given a and b at their 40 % of 120,000, and c (20 %) new with 24,000 in the pool
    targets = {"a": D("0.4"), "b": D("0.4"), "c": D("0.2")}
    navs = {"a": D(48_000), "b": D(48_000)}
    last = date(2024, 4, 1)
    decision = decide_capital(policy, date(2024, 4, 2), navs, D(24_000), targets, last)
    # Then c receives its 20 % of 120,000 and nothing else moves
    assert amounts(decision) == {"c": D(24_000)}
    assert decision.transfers[0].reason is TransferReason.FUND
    assert "c joins" in decision.transfers[0].detail


def test_new_books_share_a_short_pool_pro_rata_and_say_the_rest_comes_later() -> None:
    # Given c and d each targeting 20 % of 110,000 = 22,000, but only 10,000 in the pool
    targets = {"a": D("0.6"), "c": D("0.2"), "d": D("0.2")}
    decision = decide_capital(NONE, date(2024, 4, 2), {"a": D(100_000)}, D(10_000), targets, None)
    # Then each gets half of the pool
    assert amounts(decision) == {"c": D(5_000), "d": D(5_000)}
    assert "the rest comes at the next capital rebalance" in decision.transfers[0].detail


def test_a_retired_book_is_neither_moved_nor_counted() -> None:
    # Given "old" still holding 50,000 but no longer in the targets
    navs = {"a": D(40_000), "b": D(60_000), "old": D(50_000)}
    decision = decide_capital(THRESHOLD, date(2024, 3, 5), navs, D(0), HALVES, None)
    # Then the shares apply to a + b + pool = 100,000 only
    assert amounts(decision) == {"a": D(10_000), "b": D(-10_000)}


def test_cents_round_in_the_pools_favour() -> None:
    # Given NAVs with fractions of a cent: a must give 0.015 and b receive 0.015
    navs = {"a": D("50000.015"), "b": D("49999.985")}
    decision = decide_capital(MONTHLY, date(2024, 2, 1), navs, D(0), HALVES, None)
    # Then a gives 2 cents and b receives 1: the pool keeps the odd cent
    assert amounts(decision) == {"a": D("-0.02"), "b": D("0.01")}
    assert decision.pool_change == D("0.01")


@pytest.mark.parametrize(
    ("navs", "pool", "targets", "message"),
    [
        ({"a": D(1)}, D(-1), {"a": D("0.5")}, "pool must be >= 0"),
        ({"a": D(1)}, D(0), {"a": D("0.7"), "b": D("0.7")}, "sum to at most 1"),
        ({"a": D(0)}, D(0), {"a": D("0.5")}, "capital to share must be > 0"),
        ({"a": D(1)}, D(0), {"a": D("0")}, r"in \(0, 1\]"),
    ],
)
def test_inputs_that_cannot_be_right_are_refused(
    navs: dict[str, Decimal], pool: Decimal, targets: dict[str, Decimal], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        decide_capital(THRESHOLD, date(2024, 3, 5), navs, pool, targets, None)


_money = st.decimals(min_value=0, max_value=10_000_000, places=4, allow_nan=False)
_shares = st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=6)
_policies = st.sampled_from([THRESHOLD, MONTHLY, QUARTERLY, NONE])


@settings(max_examples=300, deadline=None)
@given(
    policy=_policies,
    weights=_shares,
    navs=st.lists(_money, min_size=6, max_size=6),
    funded=st.lists(st.booleans(), min_size=6, max_size=6),
    pool=_money,
    month=st.integers(min_value=1, max_value=12),
)
def test_the_pool_never_goes_below_zero_and_a_rebalance_lands_on_the_targets(
    policy: CapitalPolicy,
    weights: list[int],
    navs: list[Decimal],
    funded: list[bool],
    pool: Decimal,
    month: int,
) -> None:
    # Given books whose shares sum to at most 1 and any NAVs, some books new
    total = max(sum(weights), 100)
    targets = {f"b{i}": D(w) / D(total) for i, w in enumerate(weights)}
    book_navs = {f"b{i}": navs[i] for i in range(len(weights)) if funded[i]}
    if pool + sum(book_navs.values(), D(0)) <= 0:
        return
    last = date(2023, month, 1)
    # When the policy decides
    decision = decide_capital(policy, date(2024, 1, 2), book_navs, pool, targets, last)
    # Then the pool stays >= 0 and no book is left with a negative NAV
    assert pool + decision.pool_change >= 0
    after = {b: book_navs.get(b, D(0)) + decision.amount_for(b) for b in targets}
    assert all(value >= 0 for value in after.values()), (after, decision)
    if decision.rebalanced:
        capital = pool + sum(book_navs.values(), D(0))
        for book, share in targets.items():
            assert abs(after[book] - share * capital) <= D("0.02")


@settings(max_examples=300, deadline=None)
@given(
    policy=_policies,
    a=_money,
    b=_money,
    pool=_money,
    joining=st.booleans(),
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2024, 12, 31)),
    last=st.one_of(st.none(), st.dates(min_value=date(2019, 1, 1), max_value=date(2024, 12, 31))),
)
def test_the_cheap_precheck_never_hides_a_transfer(
    policy: CapitalPolicy,
    a: Decimal,
    b: Decimal,
    pool: Decimal,
    joining: bool,
    day: date,
    last: date | None,
) -> None:
    # Given two funded books (and maybe a third joining)
    targets = {"a": D("0.4"), "b": D("0.4")} | ({"c": D("0.2")} if joining else {})
    navs = {"a": a, "b": b}
    capital = a + b + pool
    if capital <= 0:
        return
    drift = max(abs(float(a / capital) - 0.4), abs(float(b / capital) - 0.4))
    # When the pre-check says nothing can move
    if capital_may_move(policy, day, last, joining=joining, largest_drift=drift):
        return
    # Then the policy indeed moves nothing
    decision = decide_capital(policy, day, navs, pool, targets, last)
    assert decision.transfers == ()
    assert not decision.rebalanced


@pytest.mark.parametrize("policy", [MONTHLY, QUARTERLY])
def test_the_first_funding_counts_as_the_calendar_rebalance(policy: CapitalPolicy) -> None:
    # Given no book funded yet and 100,000 in the pool
    decision = decide_capital(policy, date(2024, 1, 30), {}, D(100_000), HALVES, None)
    # Then both books are funded to their targets, and the day is the last rebalance
    assert amounts(decision) == {"a": D(50_000), "b": D(50_000)}
    assert {t.reason for t in decision.transfers} == {TransferReason.FUND}
    assert decision.rebalanced


def test_a_gap_under_a_cent_moves_nothing() -> None:
    # Given a book 0.4 cents above its target: rounding up would take a whole cent
    navs = {"a": D("50000.004"), "b": D("49999.996")}
    decision = decide_capital(MONTHLY, date(2024, 2, 1), navs, D(0), HALVES, date(2024, 1, 2))
    assert decision.rebalanced and decision.transfers == ()


def test_a_book_a_fraction_of_a_cent_above_its_goal_never_overdraws_the_pool() -> None:
    # Given a pool of 0.63 cents, one book at 2.95 cents (under a cent above its goal of
    # 2 cents, so it gives nothing back) and a new book whose goal is 1 cent
    targets = {"b0": D("0.28"), "b1": D("0.56")}
    # When a rebalance is due
    decision = decide_capital(
        THRESHOLD, date(2024, 1, 2), {"b1": D("0.0295")}, D("0.0063"), targets, None
    )
    # Then the new book gets only what the pool holds in whole cents
    assert D("0.0063") + decision.pool_change >= 0
    assert decision.amount_for("b0") == D("0")

"""Composer semantics of every form, checked on tiny hand-made markets."""

from __future__ import annotations

from datetime import date

import pytest

from alchemiser.dsl.engine import WarmupError, evaluate_history, evaluate_on
from alchemiser.dsl.parser import parse_text
from alchemiser.market.history import MissingTickersError
from tests.support.prices import history_from


def symphony(body: str, meta: str = "{}"):  # type: ignore[no-untyped-def]
    return parse_text(f'(defsymphony "t" {meta} {body})', "t.clj")


# A: rises every day, B: falls every day, C: flat then one jump; D listed late.
MARKET = history_from(
    {
        "A": [10, 11, 12, 13, 14, 15, 16, 17],
        "B": [20, 19, 18, 17, 16, 15, 14, 13],
        "C": [5, 5, 5, 5, 5, 5, 5, 6],
        "D": [None, None, None, 8, 8.5, 8, 8.5, 9],
    }
)


def last(body: str, market=MARKET) -> dict[str, float]:  # type: ignore[no-untyped-def]
    result = evaluate_history(symphony(body), market)
    return result.weights_at(len(market.dates) - 1)


def test_weight_equal_splits_among_children_and_adds_the_same_ticker() -> None:
    # A reached twice: 1/3 + 1/3; B once: 1/3
    assert last('(weight-equal [(asset "A") (asset "B") (asset "A")])') == pytest.approx(
        {"A": 2 / 3, "B": 1 / 3}
    )


def test_vectors_inside_vectors_flatten() -> None:
    assert last('(weight-equal [[(asset "A")] [(asset "B") [(asset "C")]]])') == pytest.approx(
        {"A": 1 / 3, "B": 1 / 3, "C": 1 / 3}
    )


def test_weight_specified_uses_the_written_weights() -> None:
    assert last('(weight-specified 0.25 (asset "A") 0.75 (asset "B"))') == pytest.approx(
        {"A": 0.25, "B": 0.75}
    )


def test_the_root_is_normalised_when_specified_weights_do_not_sum_to_one() -> None:
    assert last('(weight-specified 2 (asset "A") 6 (asset "B"))') == pytest.approx(
        {"A": 0.25, "B": 0.75}
    )


def test_if_takes_only_the_chosen_branch_and_weights_a_branch_vector_equally() -> None:
    # current price of A (17) > 16 -> then-branch holds A and C equally
    assert last(
        '(if (> (current-price "A") 16) [(asset "A") (asset "C")] [(asset "B")])'
    ) == pytest.approx({"A": 0.5, "C": 0.5})
    assert last('(if (< (current-price "A") 16) [(asset "A")] [(asset "B")])') == {"B": 1.0}


@pytest.mark.parametrize(
    ("op", "rhs", "then"),
    [(">", 17, False), (">=", 17, True), ("<", 17, False), ("<=", 17, True), ("=", 17, True)],
)
def test_comparators_compare_on_the_boundary_as_written(op: str, rhs: int, then: bool) -> None:
    got = last(f'(if ({op} (current-price "A") {rhs}) [(asset "A")] [(asset "B")])')
    assert got == ({"A": 1.0} if then else {"B": 1.0})


def test_filter_keeps_the_best_by_metric() -> None:
    # 3-day cumulative return at the last row: A 17/14-1 = 21.4 %, B 13/16-1 = -18.75 %, C 6/5-1 = 20 %
    body = '(filter (cumulative-return {:window 3}) (select-top 2) [(asset "B") (asset "C") (asset "A")])'
    assert last(body) == pytest.approx({"A": 0.5, "C": 0.5})
    body = '(filter (cumulative-return {:window 3}) (select-bottom 1) [(asset "A") (asset "C") (asset "B")])'
    assert last(body) == {"B": 1.0}


def test_filter_ties_break_alphabetically_by_ticker() -> None:
    # Y and X have identical prices, so identical scores: X wins whatever the order written
    market = history_from({"Y": [1, 2, 3, 4], "X": [1, 2, 3, 4]})
    for order in ('(asset "Y") (asset "X")', '(asset "X") (asset "Y")'):
        for select in ("select-top", "select-bottom"):
            body = f"(filter (rsi {{:window 2}}) ({select} 1) [{order}])"
            assert last(body, market) == {"X": 1.0}


def test_a_child_holding_nothing_is_dropped_and_its_siblings_share_its_weight() -> None:
    # The if has no else branch: when false it holds nothing, so B takes everything
    body = '(weight-equal [(if (> (current-price "A") 100) [(asset "A")]) (asset "B")])'
    assert last(body) == {"B": 1.0}
    body = '(weight-specified 0.5 (if (> (current-price "A") 100) [(asset "A")]) 0.25 (asset "B") 0.25 (asset "C"))'
    assert last(body) == pytest.approx({"B": 0.5, "C": 0.5})


def test_inverse_volatility_weights_by_one_over_the_stdev_of_returns() -> None:
    # Returns over the last 2 days: A 1/15, 1/16 (closes 15, 16, 17); B -1/15, -1/14.
    # A: deviations +-(1/15 - 1/16)/2 = +-1/480, sample stdev sqrt(2 * (1/480)^2 / 1)
    # = sqrt(2)/480; B: +-(1/14 - 1/15)/2 = +-1/420, stdev sqrt(2)/420.
    # 1/sigma is proportional to 480 and 420: A gets 480/900 = 8/15, B 7/15.
    body = '(weight-inverse-volatility 2 [(asset "A") (asset "B")])'
    assert last(body) == pytest.approx({"A": 8 / 15, "B": 7 / 15}, rel=1e-12)


def test_stdev_return_in_a_condition_is_the_sample_deviation() -> None:
    # A closes 100, 110, 99: returns +10 %, -10 %, mean 0, squares 100 + 100 = 200.
    # Sample deviation sqrt(200 / 1) = 14.14 > 12 takes the then-branch; the
    # population one, sqrt(200 / 2) = 10, would not: this is the kind of day on
    # which Composer's live allocations decided for n - 1.
    market = history_from({"A": [100, 110, 99], "B": [1, 1, 1], "C": [1, 1, 1]})
    body = '(if (> (stdev-return "A" {:window 2}) 12) [(asset "B")] [(asset "C")])'
    assert last(body, market) == {"B": 1.0}
    body = '(if (> (stdev-return "A" {:window 2}) 14.2) [(asset "B")] [(asset "C")])'
    assert last(body, market) == {"C": 1.0}


def test_inverse_volatility_gives_everything_to_a_riskless_child() -> None:
    market = history_from({"A": [10, 11, 10, 11, 10], "C": [5, 5, 5, 5, 5]})
    assert last('(weight-inverse-volatility 3 [(asset "A") (asset "C")])', market) == {"C": 1.0}


def test_warm_up_starts_when_every_indicator_has_a_full_window_for_every_ticker() -> None:
    # rsi 2 of A needs 3 closes (row 2); D has its first close on row 3 -> row 3 is the first valid day
    result = evaluate_history(
        symphony('(if (> (rsi "A" {:window 2}) 50) [(asset "D")] [(asset "B")])'), MARKET
    )
    assert result.start == 3
    assert "D" in result.start_reason
    assert not result.weights[:3].any()
    with pytest.raises(WarmupError, match="first valid day is 2024-01-04"):
        result.weights_at(2)


def test_evaluating_a_day_before_warm_up_is_a_clear_error() -> None:
    s = symphony('(if (> (moving-average-price "A" {:window 5}) 1) [(asset "A")] [(asset "B")])')
    with pytest.raises(WarmupError, match=r"moving-average-price \"A\" \{:window 5\}"):
        evaluate_on(s, MARKET, date(2024, 1, 3))


def test_a_ticker_without_data_is_an_error_naming_every_missing_ticker() -> None:
    s = symphony(
        '(weight-equal [(asset "A") (asset "ZZZ") (if (> (rsi "QQQQ" {:window 2}) 1) [(asset "B")] [])])'
    )
    with pytest.raises(MissingTickersError, match="QQQQ, ZZZ"):
        evaluate_history(s, MARKET)


def test_evaluate_on_a_non_trading_day_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a trading day"):
        evaluate_on(symphony('(asset "A")'), MARKET, date(2024, 1, 6))


def test_trace_shows_both_sides_of_each_if_and_every_filter_candidate() -> None:
    # Given an if whose else-branch is a filter
    s = symphony(
        '(if (> (current-price "A") 100) [(asset "A")] '
        '[(filter (cumulative-return {:window 3}) (select-top 1) [(asset "C") (asset "B")])])'
    )
    # When traced on the last day
    allocation = evaluate_on(s, MARKET, date(2024, 1, 10), trace=True)
    # Then the if shows 17 vs 100 and the else-branch; the filter shows both scores, C kept
    trace = allocation.trace
    assert trace is not None
    (node,) = trace["children"]  # type: ignore[index]
    assert node["node"] == "if" and node["lhs"] == 17.0 and node["rhs"] == 100.0
    assert node["branch"] == "else" and node["at"] == "t.clj:1:21"
    (flt,) = node["children"]
    assert flt["candidates"] == [
        {"label": "C", "score": pytest.approx(20.0), "kept": True},
        {"label": "B", "score": pytest.approx(-18.75), "kept": False},
    ]
    assert "alphabetically" in flt["tie_break"]
    assert trace["weights"] == {"C": 1.0}

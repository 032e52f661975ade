"""Parser checks: every mistake is an error naming file:line:column and what was expected."""

from __future__ import annotations

import pytest

from alchemiser.dsl.ast import (
    Asset,
    Comparator,
    Filter,
    If,
    IndicatorCall,
    RebalanceFrequency,
    WeightSpecified,
)
from alchemiser.dsl.parser import parse_text
from alchemiser.dsl.source import SymphonyError


def wrap(body: str, meta: str = "{}") -> str:
    return f'(defsymphony "t" {meta}\n {body})'


def errors_of(text: str) -> list[str]:
    with pytest.raises(SymphonyError) as caught:
        parse_text(text, "t.clj")
    return [str(d) for d in caught.value.diagnostics]


def test_a_full_symphony_parses_into_typed_nodes() -> None:
    # Given a symphony using an if, a filter and specified weights
    text = wrap(
        '(if (> (rsi "SPY" {:window 10}) 70) [(asset "BIL" "T-bills")] '
        '[(filter (cumulative-return {:window 5}) (select-bottom 2) [(asset "tqqq") (asset "SPY" nil)])'
        ' (weight-specified 0.25 (asset "GLD") 0.75 [(asset "TLT")])])',
        "{:rebalance-frequency :weekly, :rebalance-threshold 0.05}",
    )
    # When parsed
    symphony = parse_text(text)
    # Then the nodes and the settings carry what the text says
    root = symphony.root
    assert isinstance(root, If)
    assert root.condition.comparator is Comparator.GT
    assert root.condition.lhs == IndicatorCall("rsi", "SPY", 10)
    assert root.condition.rhs == 70.0
    assert root.then == (Asset("BIL"),)
    flt, spec = root.otherwise
    assert isinstance(flt, Filter) and not flt.top and flt.count == 2
    assert flt.candidates[0] == Asset("TQQQ")  # tickers are upper-cased
    assert isinstance(spec, WeightSpecified) and spec.weights == (0.25, 0.75)
    assert symphony.meta.rebalance_frequency is RebalanceFrequency.WEEKLY
    assert symphony.meta.rebalance_threshold == 0.05


def test_an_if_without_else_holds_nothing_on_the_else_side() -> None:
    symphony = parse_text(wrap('(if (< (current-price "SPY") 1) [(asset "BIL")])'))
    assert isinstance(symphony.root, If) and symphony.root.otherwise == ()


def test_a_symphony_with_only_a_threshold_rebalances_on_the_corridor_alone() -> None:
    symphony = parse_text(wrap('(asset "SPY")', "{:rebalance-threshold 0.1}"))
    assert symphony.frequency is RebalanceFrequency.NONE
    assert parse_text(wrap('(asset "SPY")')).frequency is RebalanceFrequency.DAILY


@pytest.mark.parametrize(
    ("body", "location", "message"),
    [
        ('(weight-eqaul [(asset "SPY")])', "t.clj:2:3", "unknown operator 'weight-eqaul'"),
        (
            '(if (> (rsy "SPY" {:window 3}) 1) [(asset "SPY")] [])',
            "t.clj:2:10",
            "unknown operator 'rsy'",
        ),
        ('(if (> (rsi "SPY") 1) [(asset "SPY")] [])', "t.clj:2:9", "(rsi ...) needs {:window N}"),
        (
            '(if (> (rsi "SPY" {:window 0}) 1) [(asset "SPY")] [])',
            "t.clj:2:9",
            "expected an integer >= 1",
        ),
        (
            '(if (> (stdev-return "SPY" {:window 1}) 1) [(asset "SPY")] [])',
            "t.clj:2:9",
            "(stdev-return ...) needs {:window N} with N >= 2",
        ),
        (
            '(filter (stdev-price {:window 1}) (select-top 1) [(asset "SPY")])',
            "t.clj:2:10",
            "(stdev-price ...) needs {:window N} with N >= 2",
        ),
        (
            '(weight-inverse-volatility 1 [(asset "SPY") (asset "TLT")])',
            "t.clj:2:2",
            "expected a window >= 2 for (weight-inverse-volatility ...)",
        ),
        (
            '(if (> (rsi "SPY" {:windw 3}) 1) [(asset "SPY")] [])',
            "t.clj:2:9",
            "unknown option(s) :windw",
        ),
        ('(if (> 1) [(asset "SPY")] [])', "t.clj:2:6", "expected (> a b) with two sides"),
        ('(if [(asset "SPY")] [])', "t.clj:2:2", "expected a comparison such as (> a b)"),
        ('(asset "SPY" "n" "extra")', "t.clj:2:2", 'expected (asset "TICKER" "name")'),
        ("(asset 12)", "t.clj:2:2", "expected a string for the ticker"),
        (
            '(filter (rsi "SPY" {:window 3}) (select-top 1) [(asset "SPY")])',
            "t.clj:2:2",
            "takes no ticker",
        ),
        (
            '(filter (rsi {:window 3}) (select-top 0) [(asset "SPY")])',
            "t.clj:2:28",
            "expected an integer >= 1",
        ),
        (
            '(filter (rsi {:window 3}) [(asset "SPY")])',
            "t.clj:2:2",
            "expected (filter METRIC (select-top N) [candidates])",
        ),
        ('(weight-specified 0.5 (asset "SPY") 0.5)', "t.clj:2:2", "pairs of a weight and a node"),
        ('(weight-specified -1 (asset "SPY"))', "t.clj:2:2", "weights must be >= 0"),
        ("(weight-equal [1 2])", "t.clj:2:2", "expected a node or a vector of nodes"),
    ],
)
def test_a_mistake_is_reported_at_its_form_with_what_was_expected(
    body: str, location: str, message: str
) -> None:
    (error,) = errors_of(wrap(body))
    assert error.startswith(location + ":"), error
    assert message in error


def test_every_mistake_in_a_file_is_reported_not_only_the_first() -> None:
    text = wrap(
        '(weight-equal [(foo) (asset "SPY") (if (> (rsi "SPY" {:window 0}) 1) [(bar)] [])])'
    )
    errors = errors_of(text)
    assert len(errors) == 3
    assert "unknown operator 'foo'" in errors[0]
    assert "expected an integer >= 1" in errors[1]
    assert "unknown operator 'bar'" in errors[2]


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ("{:rebalance-frequency :hourly}", "expected one of :daily, :weekly"),
        ("{:rebalance-threshold 1.5}", ":rebalance-threshold must be in (0, 1), was 1.5"),
        ("{:rebalance-freqency :daily}", "unknown setting :rebalance-freqency"),
    ],
)
def test_bad_settings_are_errors(meta: str, message: str) -> None:
    (error,) = errors_of(wrap('(asset "SPY")', meta))
    assert message in error


def test_a_file_must_hold_exactly_one_defsymphony() -> None:
    assert "exactly one (defsymphony" in errors_of('(asset "SPY")')[0]
    assert "exactly one (defsymphony" in errors_of(wrap('(asset "SPY")') + wrap('(asset "SPY")'))[0]

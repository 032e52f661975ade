"""Composer JSON import (``alchemiser.dsl.composer_json``).

The real export ``kmlm_switcher.composer.json`` is imported, written to ``.clj``,
read back and evaluated on the real prices in ``../shared/data/prices``; it is also
compared with the hand-written ``kmlm_switcher.clj``. Small hand-made snippets cover
each step kind and each error; their values do not matter, only the mapping.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alchemiser.dsl.ast import (
    Asset,
    Comparator,
    Condition,
    Filter,
    Group,
    If,
    IndicatorCall,
    Metric,
    Node,
    RebalanceFrequency,
    Symphony,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
    tickers_of,
    walk,
)
from alchemiser.dsl.composer_json import (
    COMPARATORS,
    FUNCTIONS,
    ComposerImportError,
    ImportProblem,
    load_composer_json,
    symphony_from_composer,
)
from alchemiser.dsl.engine import AllocationHistory, evaluate_history
from alchemiser.dsl.indicators import INDICATORS, rsi_wilder
from alchemiser.dsl.parser import load_symphony, parse_text
from alchemiser.dsl.writer import write_symphony
from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
COMPOSER = DATA / "composer"
PRICES = DATA / "prices"
KMLM_JSON = COMPOSER / "kmlm_switcher.composer.json"
KMLM_CLJ = DATA / "symphonies" / "kmlm_switcher.clj"

Json = dict[str, Any]


# --- snippet builders -----------------------------------------------------------------


def root(*children: Json, **settings: Any) -> Json:
    return {
        "step": "root",
        "name": "snippet",
        "rebalance": "daily",
        **settings,
        "children": list(children),
    }


def asset(ticker: str, **extra: Any) -> Json:
    return {"step": "asset", "ticker": ticker, **extra}


def equal(*children: Json, **extra: Any) -> Json:
    return {"step": "wt-cash-equal", **extra, "children": list(children)}


def when(*children: Json, **fields: Any) -> Json:
    """An if-child with a condition: RSI(SPY, 10) > 70 unless fields say otherwise."""
    condition = {
        "lhs-fn": "relative-strength-index",
        "lhs-val": "SPY",
        "lhs-window-days": "10",
        "comparator": "gt",
        "rhs-fixed-value?": True,
        "rhs-val": "70",
    }
    return {
        "step": "if-child",
        "is-else-condition?": False,
        **condition,
        **fields,
        "children": list(children),
    }


def otherwise(*children: Json) -> Json:
    return {"step": "if-child", "is-else-condition?": True, "children": list(children)}


def if_(*children: Json, **extra: Any) -> Json:
    return {"step": "if", **extra, "children": list(children)}


def imported_root(*children: Json) -> Node:
    return symphony_from_composer(root(*children)).root


def problems_of(data: object) -> tuple[ImportProblem, ...]:
    with pytest.raises(ComposerImportError) as caught:
        symphony_from_composer(data)  # type: ignore[arg-type]
    return caught.value.problems


RSI_SPY_GT_70 = Condition(Comparator.GT, IndicatorCall("rsi", "SPY", 10), 70.0)


# --- the real export ------------------------------------------------------------------


@pytest.fixture(scope="module")
def kmlm() -> Symphony:
    return load_composer_json(KMLM_JSON)


@pytest.fixture(scope="module")
def kmlm_reparsed(kmlm: Symphony) -> Symphony:
    return parse_text(write_symphony(kmlm), "kmlm_switcher.imported.clj")


@pytest.fixture(scope="module")
def kmlm_prices(kmlm: Symphony) -> PriceHistory:
    return load_price_directory(PRICES, tickers_of(kmlm.root))


@pytest.fixture(scope="module")
def kmlm_allocations(kmlm: Symphony, kmlm_prices: PriceHistory) -> AllocationHistory:
    return evaluate_history(kmlm, kmlm_prices)


def test_real_export_imports_name_and_settings(kmlm: Symphony) -> None:
    # Given the real export, When it is imported, Then root settings are read
    assert kmlm.name.startswith("Simons KMLM switcher (single pops)")
    assert kmlm.meta.rebalance_frequency is RebalanceFrequency.NONE
    assert kmlm.meta.rebalance_threshold == 0.1
    assert kmlm.meta.asset_class == "EQUITIES"  # exported as 'asset_class'
    assert kmlm.frequency is RebalanceFrequency.NONE


def test_real_export_references_twenty_tickers_all_with_price_files(kmlm: Symphony) -> None:
    # Given the imported export, When its tickers are listed, Then 20 are found, each with prices
    tickers = tickers_of(kmlm.root)
    assert len(tickers) == 20
    assert {"UVXY", "KMLM", "XLK", "SVIX", "SQQQ", "TLT", "LABU"} <= set(tickers)
    assert [t for t in tickers if not (PRICES / f"{t}.csv").is_file()] == []


def test_real_export_round_trips_through_clj_text(kmlm: Symphony, kmlm_reparsed: Symphony) -> None:
    # Given the imported tree, When written as .clj and parsed again, Then the trees are equal
    assert kmlm_reparsed == kmlm
    assert kmlm_reparsed.meta == kmlm.meta


def test_real_export_and_its_clj_evaluate_identically_on_real_prices(
    kmlm_reparsed: Symphony, kmlm_prices: PriceHistory, kmlm_allocations: AllocationHistory
) -> None:
    # Given both forms, When evaluated over the real prices, Then every row is identical
    from_clj = evaluate_history(kmlm_reparsed, kmlm_prices)
    assert from_clj.tickers == kmlm_allocations.tickers
    assert np.array_equal(from_clj.weights, kmlm_allocations.weights)
    assert from_clj.start == kmlm_allocations.start
    assert from_clj.first_valid_day == kmlm_allocations.first_valid_day
    assert str(kmlm_allocations.first_valid_day) == "2022-04-13"  # SVIX's RSI(10) warm-up


# The else-if chain down the imported tree: the 11 "pops" to UVXY, then Combined Pop Bot.
POPS = [("QQQE", 79), ("VTV", 79), ("VOX", 79), ("TECL", 79), ("VOOG", 79), ("VOOV", 79),
        ("XLP", 75), ("TQQQ", 79), ("XLY", 80), ("FAS", 80), ("SPY", 80)]  # fmt: skip


def _rsi(ticker: str, window: int, comparator: Comparator, rhs: float | str) -> Condition:
    right = IndicatorCall("rsi", rhs, window) if isinstance(rhs, str) else float(rhs)
    return Condition(comparator, IndicatorCall("rsi", ticker, window), right)


def _else_chain(node: Node) -> list[Condition]:
    """Follow single-child wrappers and else branches; return the conditions met."""
    chain: list[Condition] = []
    while True:
        if isinstance(node, If):
            chain.append(node.condition)
            children = node.otherwise
        elif isinstance(node, WeightEqual | Group):
            children = node.children
        else:
            return chain
        if len(children) != 1:
            return chain
        node = children[0]


def test_real_export_pops_to_uvxy_exactly_when_a_pop_condition_holds(
    kmlm: Symphony, kmlm_prices: PriceHistory, kmlm_allocations: AllocationHistory
) -> None:
    # Given the import's else-if chain of 11 RSI(10) pops to UVXY (nothing else holds UVXY)
    assert _else_chain(kmlm.root)[:11] == [_rsi(t, 10, Comparator.GT, v) for t, v in POPS]
    # When the pop conditions are computed directly from the real closes
    rows = slice(kmlm_allocations.start, None)
    fired = np.zeros(len(kmlm_prices.dates), dtype=bool)
    for ticker, threshold in POPS:
        fired |= rsi_wilder(kmlm_prices.column(ticker), 10) > threshold
    # Then UVXY is held, and held alone, on exactly those days
    uvxy = kmlm_allocations.weights[:, kmlm_allocations.tickers.index("UVXY")]
    assert fired[rows].sum() == 134
    assert np.array_equal(uvxy[rows] == 1.0, fired[rows])
    assert np.all(uvxy[rows][~fired[rows]] == 0.0)


def test_hand_written_clj_shares_the_pop_chain_and_then_differs(kmlm: Symphony) -> None:
    # Given the hand-written kmlm_switcher.clj (a different version of the same family)
    hand = load_symphony(KMLM_CLJ)
    # When the two else-if chains are followed
    imported, written = _else_chain(kmlm.root), _else_chain(hand.root)
    # Then the 11 pops agree, and below them the strategies differ:
    pops = [_rsi(t, 10, Comparator.GT, v) for t, v in POPS]
    combined_pop_bot = [_rsi("TQQQ", 10, Comparator.LT, 30), _rsi("SOXL", 10, Comparator.LT, 30),
                        _rsi("SPXL", 10, Comparator.LT, 30)]  # fmt: skip
    switch = _rsi("XLK", 10, Comparator.GT, "KMLM")
    # the import adds a LABU pop inside Combined Pop Bot ...
    assert imported == [*pops, *combined_pop_bot, _rsi("LABU", 10, Comparator.LT, 25), switch]
    # ... the .clj first tests RSI(UVXY, 21) > 65 (a "BSC" VIXM/SPXL branch), has no LABU pop,
    assert written == [*pops, _rsi("UVXY", 21, Comparator.GT, 65), *combined_pop_bot, switch]
    # and the KMLM switch picks from other filters and tickers (FTLS has no price data, so
    # the .clj cannot be evaluated on the shared prices at all).
    only_in_clj = set(tickers_of(hand.root)) - set(tickers_of(kmlm.root))
    only_in_import = set(tickers_of(kmlm.root)) - set(tickers_of(hand.root))
    assert only_in_clj == {"FTLS", "SVXY", "TMF", "TMV", "UUP", "VIXM"}
    assert only_in_import == {"LABU", "SQQQ", "TLT"}
    assert not (PRICES / "FTLS.csv").exists()


# --- each step kind -------------------------------------------------------------------


def test_equal_weight_of_assets_becomes_weight_equal() -> None:
    # Given wt-cash-equal of two assets, When imported, Then weight-equal of both
    node = imported_root(equal(asset("SPY", name="SPDR"), asset("tlt")))
    assert node == WeightEqual((Asset("SPY"), Asset("TLT")))
    assert isinstance(node, WeightEqual)
    assert node.children[0] == Asset("SPY", "SPDR")


def test_specified_weights_read_num_over_den() -> None:
    # Given weights as numbers and strings, When imported, Then each is num / den
    node = imported_root(
        {
            "step": "wt-cash-specified",
            "children": [
                asset("SPY", weight={"num": 60, "den": 100}),
                equal(asset("TLT"), asset("GLD"), weight={"num": "33.3", "den": "100"}),
                asset("BIL", weight={"num": 0, "den": 100}),
            ],
        }
    )
    expected = (Asset("SPY"), WeightEqual((Asset("TLT"), Asset("GLD"))), Asset("BIL"))
    assert node == WeightSpecified((0.6, 0.333, 0.0), expected)


def test_inverse_volatility_reads_window_days() -> None:
    # Given wt-inverse-vol over "20" days, When imported, Then weight-inverse-volatility 20
    node = imported_root(
        {"step": "wt-inverse-vol", "window-days": "20", "children": [asset("SPY")]}
    )
    assert node == WeightInverseVolatility(20, (Asset("SPY"),))


def test_group_keeps_its_name() -> None:
    # Given a named group, When imported, Then a group of that name around its child
    node = imported_root({"step": "group", "name": "Core", "children": [equal(asset("SPY"))]})
    assert node == Group("Core", (WeightEqual((Asset("SPY"),)),))


def test_if_with_fixed_right_side_becomes_if_else() -> None:
    # Given an if with a numeric rhs, When imported, Then (if (> (rsi "SPY" 10) 70) ...)
    node = imported_root(if_(when(asset("UVXY")), otherwise(asset("SPY"), asset("TLT"))))
    assert node == If(RSI_SPY_GT_70, (Asset("UVXY"),), (Asset("SPY"), Asset("TLT")))


def test_stale_rhs_function_is_ignored_when_the_right_side_is_fixed() -> None:
    # Given rhs-fixed-value? true next to a leftover rhs-fn, When imported, Then rhs is the number
    child = when(asset("UVXY"), **{"rhs-fn": "relative-strength-index", "rhs-window-days": "10"})
    assert imported_root(if_(child, otherwise(asset("SPY")))) == If(
        RSI_SPY_GT_70, (Asset("UVXY"),), (Asset("SPY"),)
    )


def test_right_side_indicator_from_window_days_or_fn_params() -> None:
    # Given rhs-fixed-value? false with the windows in either form, When imported
    child = when(
        asset("TECL"),
        **{"lhs-val": "XLK", "lhs-window-days": None, "lhs-fn-params": {"window": 10}},
        **{"rhs-fixed-value?": False, "rhs-fn": "cumulative-return", "rhs-val": "KMLM"},
        **{"rhs-window-days": 5},
    )
    node = imported_root(if_(child, otherwise(asset("SVIX"))))
    # Then the right side is an indicator call on the rhs ticker
    cond = Condition(
        Comparator.GT,
        IndicatorCall("rsi", "XLK", 10),
        IndicatorCall("cumulative-return", "KMLM", 5),
    )
    assert node == If(cond, (Asset("TECL"),), (Asset("SVIX"),))


@pytest.mark.parametrize(
    ("rhs_val", "expected"),
    [("KMLM", IndicatorCall("rsi", "KMLM", 10)), ("79", 79.0), (-2.5, -2.5)],
)
def test_absent_fixed_flag_is_inferred_from_rhs_val(rhs_val: object, expected: object) -> None:
    # Given no rhs-fixed-value? (as in the real export), When imported
    child = when(asset("UVXY"), **{"rhs-fixed-value?": None, "rhs-val": rhs_val})
    child |= {"rhs-fn": "relative-strength-index", "rhs-fn-params": {"window": 10}}
    node = imported_root(if_(child))
    # Then a numeric rhs-val is a number and anything else a ticker
    assert isinstance(node, If)
    assert node.condition.rhs == expected


@pytest.mark.parametrize(("code", "comparator"), list(COMPARATORS.items()))
def test_each_comparator_code_maps_to_its_dsl_comparison(code: str, comparator: Comparator) -> None:
    # Given a condition with each of Composer's comparator codes, When imported
    node = imported_root(if_(when(asset("UVXY"), comparator=code), otherwise(asset("SPY"))))
    # Then the comparison uses the matching DSL operator
    assert isinstance(node, If)
    assert node.condition.comparator is comparator
    assert {c.value for c in COMPARATORS.values()} == {c.value for c in Comparator}


@pytest.mark.parametrize(("function", "indicator"), list(FUNCTIONS.items()))
def test_each_function_maps_to_a_dsl_indicator(function: str, indicator: str) -> None:
    # Given a condition and a filter using each Composer function
    fields = {"lhs-fn": function, "lhs-window-days": 7}
    sort = {"sort-by-fn": function, "sort-by-window-days": 7, "select-fn": "top", "select-n": 1}
    node = imported_root(
        if_(when({"step": "filter", **sort, "children": [asset("SPY"), asset("TLT")]}, **fields))
    )
    # When imported, Then both use the DSL indicator (current-price takes no window)
    window = 7 if INDICATORS[indicator].needs_window else None
    assert isinstance(node, If)
    assert node.condition.lhs == IndicatorCall(indicator, "SPY", window)
    assert node.then == (Filter(Metric(indicator, window), True, 1, (Asset("SPY"), Asset("TLT"))),)
    assert node.otherwise == ()


@pytest.mark.parametrize(("select_fn", "top"), [("top", True), ("bottom", False)])
def test_filter_reads_metric_selection_and_count(select_fn: str, top: bool) -> None:
    # Given a filter with its window in sort-by-fn-params and select-n as a string
    block = {
        "step": "filter",
        "sort-by-fn": "standard-deviation-return",
        "sort-by-fn-params": {"window": 6},
        "select-fn": select_fn,
        "select-n": "2",
        "children": [asset("TMF"), asset("TMV"), asset("UUP")],
    }
    # When imported, Then the filter keeps that many by stdev-return
    candidates = (Asset("TMF"), Asset("TMV"), Asset("UUP"))
    assert imported_root(block) == Filter(Metric("stdev-return", 6), top, 2, candidates)


def test_several_conditions_nest_as_an_else_if_chain() -> None:
    # Given an if with three conditions and an else, When imported
    spy_gt = when(asset("UVXY"))
    qqq_lt = when(asset("TQQQ"), **{"lhs-val": "QQQ", "comparator": "lt", "rhs-val": 30})
    tlt_gte = when(asset("TLT"), **{"lhs-val": "TLT", "comparator": "gte", "rhs-val": 50.5})
    node = imported_root(if_(spy_gt, qqq_lt, tlt_gte, otherwise(asset("BIL"))))
    # Then the first condition that holds wins, the else last
    qqq = Condition(Comparator.LT, IndicatorCall("rsi", "QQQ", 10), 30.0)
    tlt = Condition(Comparator.GE, IndicatorCall("rsi", "TLT", 10), 50.5)
    innermost = If(tlt, (Asset("TLT"),), (Asset("BIL"),))
    assert node == If(RSI_SPY_GT_70, (Asset("UVXY"),), (If(qqq, (Asset("TQQQ"),), (innermost,)),))


def test_chain_without_else_leaves_the_last_else_branch_empty() -> None:
    # Given two conditions and no else child, When imported, Then the innermost else is empty
    qqq = when(asset("TQQQ"), **{"lhs-val": "QQQ"})
    node = imported_root(if_(when(asset("UVXY")), qqq))
    inner = If(
        Condition(Comparator.GT, IndicatorCall("rsi", "QQQ", 10), 70.0), (Asset("TQQQ"),), ()
    )
    assert node == If(RSI_SPY_GT_70, (Asset("UVXY"),), (inner,))


def test_weights_outside_specified_parents_are_informational() -> None:
    # Given an if weighted 0/100 under wt-cash-equal (as in the real export), When imported
    zero = {"num": "0", "den": 100}
    node = imported_root(
        equal(if_(when(asset("UVXY")), otherwise(asset("SPY")), weight=zero), asset("TLT"))
    )
    # Then the weight is ignored: both children share the parent equally
    assert node == WeightEqual((If(RSI_SPY_GT_70, (Asset("UVXY"),), (Asset("SPY"),)), Asset("TLT")))


@pytest.mark.parametrize("frequency", list(RebalanceFrequency))
def test_each_rebalance_frequency_is_read(frequency: RebalanceFrequency) -> None:
    # Given each rebalance value, When imported, Then the frequency matches
    symphony = symphony_from_composer(
        root(asset("SPY"), rebalance=frequency.value, **{"asset-class": "EQUITIES"})
    )
    assert symphony.meta.rebalance_frequency is frequency
    assert symphony.meta.rebalance_threshold is None
    assert symphony.meta.asset_class == "EQUITIES"


def test_root_with_several_children_is_weighted_equally() -> None:
    # Given a root with two blocks, When imported, Then the body is weight-equal of both
    assert imported_root(asset("SPY"), asset("TLT")) == WeightEqual((Asset("SPY"), Asset("TLT")))


def test_deep_else_if_chain_imports_without_recursion() -> None:
    # Given a 400-level nested if chain built in Python (no JSON reader involved)
    depth = 400
    node: Json = asset("SPY")
    for _ in range(depth):
        node = equal(if_(when(asset("UVXY")), otherwise(node)))
    # When imported, Then every level is there
    imported = imported_root(node)
    assert sum(isinstance(n, If) for n in walk(imported)) == depth


# --- errors ---------------------------------------------------------------------------


def test_unknown_step_names_its_path_and_the_known_steps() -> None:
    # Given a 'wt-foo' step at $.children[0].children[2], When imported
    (problem,) = problems_of(
        root(equal(asset("SPY"), asset("TLT"), {"step": "wt-foo", "children": []}))
    )
    # Then the error names the path, the step and what was expected
    assert problem.path == "$.children[0].children[2]"
    assert "'wt-foo'" in problem.message
    assert "wt-cash-equal" in problem.message
    assert "wt-inverse-vol" in problem.message


def test_error_text_starts_with_the_source_name() -> None:
    # Given a bad export read under a file name, When imported, Then each line names the file
    with pytest.raises(ComposerImportError) as caught:
        symphony_from_composer(root({"step": "wt-foo"}), "kmlm_switcher.composer.json")
    assert str(caught.value).startswith("kmlm_switcher.composer.json: $.children[0]: ")
    assert caught.value.source_name == "kmlm_switcher.composer.json"


BAD_CONDITIONS = [
    ({"lhs-fn": "bollinger"}, "$.children[0].children[0]['lhs-fn']", "'bollinger'"),
    ({"lhs-fn": None}, "$.children[0].children[0]", "missing field 'lhs-fn'"),
    ({"comparator": "ne"}, "$.children[0].children[0]['comparator']", "'ne'"),
    ({"lhs-val": None}, "$.children[0].children[0]", "missing field 'lhs-val'"),
    ({"lhs-val": "CRYPTO::BTC//USD"}, "$.children[0].children[0]['lhs-val']", "CRYPTO::BTC//USD"),
    ({"lhs-window-days": "ten"}, "$.children[0].children[0]['lhs-window-days']", "'ten'"),
    ({"lhs-window-days": 0}, "$.children[0].children[0]['lhs-window-days']", "found 0"),
    ({"lhs-window-days": None}, "$.children[0].children[0]", "missing field 'lhs-window-days'"),
    ({"lhs-fn-params": {"window": 14}}, "$.children[0].children[0]", "disagree"),
    ({"lhs-fn": "standard-deviation-return", "lhs-window-days": 1}, "$.children[0].children[0]", "window >= 2"),
    ({"lhs-fn-params": [10]}, "$.children[0].children[0]['lhs-fn-params']", "a list"),
    ({"rhs-val": "abc"}, "$.children[0].children[0]['rhs-val']", "'abc'"),
    ({"rhs-fixed-value?": "yes"}, "$.children[0].children[0]['rhs-fixed-value?']", "'yes'"),
    ({"rhs-fixed-value?": False, "rhs-val": "KMLM"}, "$.children[0].children[0]", "missing field 'rhs-fn'"),
    ({"is-else-condition?": 0}, "$.children[0].children[0]['is-else-condition?']", "found 0"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "path", "found"), BAD_CONDITIONS)
def test_bad_condition_field_is_reported_at_its_path(fields: Json, path: str, found: str) -> None:
    # Given an if-child with one bad or missing field, When imported
    (problem,) = problems_of(root(if_(when(asset("UVXY"), **fields), otherwise(asset("SPY")))))
    # Then exactly that field is reported, saying what was found
    assert problem.path == path
    assert found in problem.message


FILTER = {"step": "filter", "sort-by-fn": "relative-strength-index", "sort-by-window-days": 10,
          "select-fn": "top", "select-n": 1, "children": [asset("SPY"), asset("TLT")]}  # fmt: skip
BAD_BLOCKS = [
    ({**FILTER, "select-fn": "middle"}, "$.children[0]['select-fn']", "'middle'"),
    ({**FILTER, "select-n": 0}, "$.children[0]['select-n']", "found 0"),
    ({**FILTER, "sort-by-fn": "sharpe"}, "$.children[0]['sort-by-fn']", "'sharpe'"),
    ({**FILTER, "select?": False}, "$.children[0]['select?']", "not supported"),
    ({**FILTER, "children": []}, "$.children[0]", "at least one child"),
    ({"step": "wt-inverse-vol", "children": [asset("SPY")]}, "$.children[0]", "missing field 'window-days'"),
    ({"step": "wt-inverse-vol", "window-days": 1, "children": [asset("SPY")]}, "$.children[0]['window-days']", "window >= 2"),
    ({"step": "group", "children": [asset("SPY")]}, "$.children[0]", "missing field 'name'"),
    ({"step": "group", "name": 7, "children": [asset("SPY")]}, "$.children[0]['name']", "found 7"),
    ({"step": "asset"}, "$.children[0]", "missing field 'ticker'"),
    ({"step": "wt-cash-equal", "children": {}}, "$.children[0]['children']", "an object"),
    ({"step": "wt-cash-equal", "children": [[]]}, "$.children[0].children[0]", "a list"),
    ({"step": "wt-cash-equal", "children": [{"ticker": "SPY"}]}, "$.children[0].children[0]", "missing field 'step'"),
    ({"step": "empty"}, "$.children[0]", "cash"),
    ({"step": "root", "children": []}, "$.children[0]", "only at the top"),
    (otherwise(asset("SPY")), "$.children[0]", "directly inside an 'if'"),
]  # fmt: skip


@pytest.mark.parametrize(("block", "path", "found"), BAD_BLOCKS)
def test_bad_block_is_reported_at_its_path(block: Json, path: str, found: str) -> None:
    # Given a root holding one bad block, When imported, Then that block is reported
    (problem,) = problems_of(root(block))
    assert problem.path == path
    assert found in problem.message


@pytest.mark.parametrize(
    ("weight", "path", "found"),
    [
        (None, "$.children[0].children[1]", "missing field 'weight'"),
        ({"num": 50, "den": 0}, "$.children[0].children[1]['weight']['den']", "found 0"),
        ({"num": "-5", "den": 100}, "$.children[0].children[1]['weight']['num']", "'-5'"),
        (0.5, "$.children[0].children[1]['weight']", "found 0.5"),
    ],
)
def test_bad_specified_weight_is_reported_at_the_child(
    weight: object, path: str, found: str
) -> None:
    # Given a wt-cash-specified child with a bad weight, When imported
    block = {
        "step": "wt-cash-specified",
        "children": [asset("SPY", weight={"num": 50, "den": 100}), asset("TLT", weight=weight)],
    }
    (problem,) = problems_of(root(block))
    # Then the child's weight is reported
    assert problem.path == path
    assert found in problem.message


@pytest.mark.parametrize(
    ("children", "path", "found"),
    [
        ([], "$.children[0]", "expected 'if-child' blocks"),
        (
            [when(asset("UVXY")), asset("SPY")],
            "$.children[0]",
            "'asset' at $.children[0].children[1]",
        ),
        ([otherwise(asset("SPY")), when(asset("UVXY"))], "$.children[0]", "must come last"),
        (
            [when(asset("UVXY")), otherwise(asset("A")), otherwise(asset("B"))],
            "$.children[0]",
            "found 2",
        ),
        ([otherwise(asset("SPY"))], "$.children[0]", "with a condition"),
        ([when(otherwise(asset("A")))], "$.children[0].children[0].children[0]", "directly inside"),
    ],
)
def test_bad_if_shape_is_reported(children: list[Json], path: str, found: str) -> None:
    # Given an if with badly arranged if-children, When imported, Then the shape is reported
    (problem,) = problems_of(root(if_(*children)))
    assert problem.path == path
    assert found in problem.message


@pytest.mark.parametrize(
    ("settings", "path", "found"),
    [
        ({"rebalance": None}, "$", "missing field 'rebalance'"),
        ({"rebalance": "hourly"}, "$['rebalance']", "'hourly'"),
        (
            {"rebalance": "none", "rebalance-corridor-width": 1.5},
            "$['rebalance-corridor-width']",
            "1.5",
        ),
        ({"rebalance-corridor-width": 0.05}, "$['rebalance-corridor-width']", "'daily'"),
        ({"name": ""}, "$['name']", "''"),
        ({"step": "group"}, "$", "expected step 'root'"),
        ({"asset_class": 3}, "$['asset_class']", "found 3"),
    ],
)
def test_bad_root_setting_is_reported(settings: Json, path: str, found: str) -> None:
    # Given a root with one bad setting, When imported, Then the setting is reported
    (problem,) = problems_of(root(asset("SPY"), **settings))
    assert problem.path == path
    assert found in problem.message


def test_export_that_is_not_an_object_is_reported_at_the_top() -> None:
    # Given a JSON list, When imported, Then '$' is reported
    (problem,) = problems_of([root(asset("SPY"))])
    assert problem.path == "$"
    assert "a list" in problem.message


def test_every_problem_is_collected_in_document_order() -> None:
    # Given three unrelated problems in different branches and in the root
    data = root(
        equal(
            if_(when(asset("UVXY"), comparator="bigger"), otherwise({"step": "wt-foo"})),
            {"step": "filter", "select-fn": "top", "select-n": 1, "children": [asset("spy")]},
        ),
        rebalance="hourly",
    )
    # When imported, Then all are reported, in the order they appear in the file
    paths = [p.path for p in problems_of(data)]
    assert paths == [
        "$['rebalance']",
        "$.children[0].children[0].children[0]['comparator']",
        "$.children[0].children[0].children[1].children[0]",
        "$.children[0].children[1]",
    ]


def test_invalid_json_file_is_reported_with_line_and_column(tmp_path: Path) -> None:
    # Given a file that is not JSON, When loaded, Then its name, line and column are given
    path = tmp_path / "broken.composer.json"
    path.write_text('{"step": "root",\n  "name": }\n')
    with pytest.raises(ComposerImportError) as caught:
        load_composer_json(path)
    (problem,) = caught.value.problems
    assert problem.path == "line 2 column 11"
    assert str(caught.value).startswith("broken.composer.json: line 2 column 11: not valid JSON")


def test_real_export_with_a_broken_block_reports_its_path() -> None:
    # Given the real export with the deepest filter's selection removed
    data = json.loads(KMLM_JSON.read_text())
    broken = copy.deepcopy(data)
    node = broken
    path = "$"
    while node["step"] != "filter":
        index = len(node["children"]) - 1
        node, path = node["children"][index], f"{path}.children[{index}]"
    del node["select-fn"]
    # When imported, Then the error points at that filter
    (problem,) = problems_of(broken)
    assert problem.path == path
    assert "missing field 'select-fn'" in problem.message


# --- property: every importable tree survives .clj text --------------------------------

_TICKERS = st.sampled_from(["SPY", "TLT", "QQQ", "GLD", "BIL"])
# From 2: a window of 1 is refused for the standard deviations (tested on its own).
_WINDOWS = st.one_of(st.integers(2, 250), st.integers(2, 250).map(str))


@st.composite
def _conditions(draw: st.DrawFn) -> Json:
    fields: Json = {
        "lhs-fn": draw(st.sampled_from(sorted(FUNCTIONS))),
        "lhs-val": draw(_TICKERS),
        "lhs-window-days": draw(_WINDOWS),
        "comparator": draw(st.sampled_from(sorted(COMPARATORS))),
    }
    if draw(st.booleans()):
        value = draw(st.floats(-1e6, 1e6, allow_nan=False))
        return fields | {
            "rhs-fixed-value?": True,
            "rhs-val": draw(st.sampled_from([value, str(value)])),
        }
    rhs = {"rhs-fn": draw(st.sampled_from(sorted(FUNCTIONS))), "rhs-val": draw(_TICKERS)}
    return fields | {"rhs-fixed-value?": False, "rhs-window-days": draw(_WINDOWS)} | rhs


def _blocks(inner: st.SearchStrategy[Json]) -> st.SearchStrategy[Json]:
    children = st.lists(inner, min_size=1, max_size=3)
    weight = st.builds(lambda n: {"num": n, "den": 100}, st.integers(0, 100))
    specified = st.lists(st.tuples(weight, inner), min_size=1, max_size=3)
    # Any text, control characters included (surrogates cannot be encoded at all).
    names = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8)
    filter_fields = st.fixed_dictionaries(
        {"sort-by-fn": st.sampled_from(sorted(FUNCTIONS)), "sort-by-window-days": _WINDOWS,
         "select-fn": st.sampled_from(["top", "bottom"]), "select-n": st.integers(1, 3)}
    )  # fmt: skip
    return st.one_of(
        children.map(lambda c: equal(*c)),
        specified.map(
            lambda pairs: {
                "step": "wt-cash-specified",
                "children": [c | {"weight": w} for w, c in pairs],
            }
        ),
        st.tuples(_WINDOWS, children).map(
            lambda t: {"step": "wt-inverse-vol", "window-days": t[0], "children": t[1]}
        ),
        st.tuples(names.filter(str.strip), children).map(
            lambda t: {"step": "group", "name": t[0], "children": t[1]}
        ),
        st.tuples(
            st.lists(st.tuples(_conditions(), children), min_size=1, max_size=3),
            children,
            st.booleans(),
        ).map(
            lambda t: if_(
                *[when(*c) | cond for cond, c in t[0]], *([otherwise(*t[1])] if t[2] else [])
            )
        ),
        st.tuples(filter_fields, children).map(
            lambda t: {"step": "filter", **t[0], "children": t[1]}
        ),
    )


_tree: st.SearchStrategy[Json] = st.recursive(_TICKERS.map(asset), _blocks, max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(_tree, st.sampled_from(["daily", "weekly", "none"]))
def test_any_importable_tree_reads_back_equal_from_its_clj_text(tree: Json, rebalance: str) -> None:
    # Given any export built from the supported steps, When imported, written and parsed
    symphony = symphony_from_composer(root(tree, rebalance=rebalance))
    reparsed = parse_text(write_symphony(symphony), "property.clj")
    # Then the trees and settings are equal
    assert reparsed == symphony
    assert reparsed.meta == symphony.meta

"""Tests of the symphony indicators (``alchemiser.dsl.indicators``).

Known answers are worked out by hand on small series. Correctness on real data
(SPY and TQQQ adjusted closes from ``../shared/data/prices``) is checked against
naive per-row loops written here, and causality by truncating the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from alchemiser.dsl.indicators import (
    INDICATORS,
    RSI_WHEN_FLAT,
    FloatArray,
    compute,
    cumulative_return,
    current_price,
    exponential_moving_average_price,
    max_drawdown,
    moving_average_price,
    moving_average_return,
    rsi_wilder,
    stdev_price,
    stdev_return,
)

PRICES_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "prices"
NAN = math.nan
WINDOWED = [name for name, spec in INDICATORS.items() if spec.needs_window]


def _defined(windows: list[int]) -> list[tuple[str, int]]:
    """Return (indicator, window) for every window an indicator is defined for."""
    return [(n, w) for w in windows for n, spec in INDICATORS.items() if w >= spec.min_window]


def _closes(*values: float) -> FloatArray:
    return np.array(values, dtype=np.float64)


def _load_closes(ticker: str) -> FloatArray:
    frame = pd.read_csv(PRICES_DIR / f"{ticker}.csv", usecols=["Date", "Adj Close"])
    closes = frame["Adj Close"].to_numpy(dtype=np.float64)
    closes.flags.writeable = False  # an indicator writing into its input fails loudly
    return closes


def _first_valid_row(values: FloatArray) -> int:
    return int(np.flatnonzero(~np.isnan(values))[0])


@pytest.fixture(scope="module")
def spy() -> FloatArray:
    return _load_closes("SPY")


@pytest.fixture(scope="module")
def tqqq() -> FloatArray:
    return _load_closes("TQQQ")


@pytest.fixture(scope="module")
def tqqq_listed_late(tqqq: FloatArray) -> FloatArray:
    """TQQQ behind 300 rows of NaN, as on a calendar that starts before its listing."""
    closes = np.concatenate([np.full(300, NAN), tqqq])
    closes.flags.writeable = False
    return closes


# --- known answers, worked out by hand ---------------------------------------


def test_current_price_after_leading_nans_is_each_close_from_the_first() -> None:
    # Given a series that starts one row late
    closes = _closes(NAN, 10.0, 11.0)

    # When
    result = current_price(closes)

    # Then the closes come back from row 1, in a new array
    np.testing.assert_array_equal(result, [NAN, 10.0, 11.0])
    assert not np.shares_memory(result, closes)


def test_moving_average_price_of_three_closes_is_valid_at_the_third_close() -> None:
    # Given closes 10, 11, 12, 14 from row 1
    closes = _closes(NAN, 10.0, 11.0, 12.0, 14.0)

    # When
    result = moving_average_price(closes, 3)

    # Then row 3 = (10 + 11 + 12) / 3 = 11 and row 4 = (11 + 12 + 14) / 3 = 37/3
    np.testing.assert_allclose(result, [NAN, NAN, NAN, 11.0, 37 / 3], rtol=1e-15)


def test_ema_is_seeded_with_the_first_close_and_reported_from_the_window_th_close() -> None:
    # Given closes 10, 12, 14, 10 from row 1 and window 3, so alpha = 2 / 4 = 0.5
    closes = _closes(NAN, 10.0, 12.0, 14.0, 10.0)

    # When
    result = exponential_moving_average_price(closes, 3)

    # Then y0 = 10, y1 = 0.5*12 + 0.5*10 = 11 (hidden: fewer than 3 closes),
    # y2 = 0.5*14 + 0.5*11 = 12.5 (not the simple mean 12), y3 = 0.5*10 + 0.5*12.5 = 11.25
    np.testing.assert_allclose(result, [NAN, NAN, NAN, 12.5, 11.25], rtol=1e-15)


def test_rsi_seeds_with_simple_means_then_smooths_wilder_style_for_several_steps() -> None:
    # Given closes 10, 11, 10.5, 12, 11, 11.5, 12.5 from row 2 and window 3:
    # changes +1, -0.5, +1.5, -1, +0.5, +1
    closes = _closes(NAN, NAN, 10.0, 11.0, 10.5, 12.0, 11.0, 11.5, 12.5)

    # When
    result = rsi_wilder(closes, 3)

    # Then (G, L averages; RSI = 100 - 100 / (1 + G/L)):
    # row 5, seed over the first 3 changes: G = (1 + 0 + 1.5)/3 = 5/6, L = 0.5/3 = 1/6,
    #   G/L = 5, RSI = 100 - 100/6 = 250/3
    # row 6, change -1:   G = (5/6*2 + 0)/3 = 5/9,    L = (1/6*2 + 1)/3 = 4/9,
    #   G/L = 5/4, RSI = 100 - 400/9 = 500/9
    # row 7, change +0.5: G = (5/9*2 + 0.5)/3 = 29/54, L = (4/9*2 + 0)/3 = 16/54,
    #   G/L = 29/16, RSI = 100 - 1600/45 = 580/9
    # row 8, change +1:   G = (29/54*2 + 1)/3 = 56/81, L = (16/54*2)/3 = 16/81,
    #   G/L = 7/2, RSI = 100 - 100/4.5 = 700/9
    expected = [NAN] * 5 + [250 / 3, 500 / 9, 580 / 9, 700 / 9]
    np.testing.assert_allclose(result, expected, rtol=1e-13)


def test_rsi_with_no_losses_is_100() -> None:
    # Given closes that only rise, so L = 0
    closes = _closes(1.0, 2.0, 3.0, 5.0, 8.0)

    # When / Then: valid from row 2 (window + 1 closes), 100 from there on
    np.testing.assert_array_equal(rsi_wilder(closes, 2), [NAN, NAN, 100.0, 100.0, 100.0])


def test_rsi_with_no_gains_is_0() -> None:
    # Given closes that only fall, so G = 0 and 100 - 100 / (1 + 0) = 0
    closes = _closes(8.0, 5.0, 3.0, 2.0)

    # When / Then
    np.testing.assert_array_equal(rsi_wilder(closes, 2), [NAN, NAN, 0.0, 0.0])


def test_rsi_of_a_flat_series_is_50_then_follows_the_first_change() -> None:
    # Given closes 5, 5, 5, 6 and window 2: no change at all until the last row
    closes = _closes(5.0, 5.0, 5.0, 6.0)

    # When
    result = rsi_wilder(closes, 2)

    # Then row 2 has G = L = 0, which is defined as 50; at row 3
    # G = (0*1 + 1)/2 = 0.5 and L = 0, so 100
    assert RSI_WHEN_FLAT == 50.0
    np.testing.assert_array_equal(result, [NAN, NAN, 50.0, 100.0])


def test_cumulative_return_over_two_days_needs_three_closes() -> None:
    # Given closes 10, 11, 12.1, 11 from row 1
    closes = _closes(NAN, 10.0, 11.0, 12.1, 11.0)

    # When
    result = cumulative_return(closes, 2)

    # Then row 3 = (12.1/10 - 1)*100 = 21 and row 4 = (11/11 - 1)*100 = 0
    np.testing.assert_allclose(result, [NAN, NAN, NAN, 21.0, 0.0], rtol=1e-13, atol=1e-13)


def test_moving_average_return_is_the_mean_daily_return_in_percent() -> None:
    # Given closes 10, 11, 12.1, 9.68 from row 1: daily returns +10 %, +10 %, -20 %
    closes = _closes(NAN, 10.0, 11.0, 12.1, 9.68)

    # When
    result = moving_average_return(closes, 2)

    # Then row 3 = (10 + 10)/2 = 10 and row 4 = (10 - 20)/2 = -5
    np.testing.assert_allclose(result, [NAN, NAN, NAN, 10.0, -5.0], rtol=1e-13)


def test_stdev_return_is_the_sample_stdev_of_daily_returns_in_percent() -> None:
    # Given daily returns +10 %, +10 %, -20 % (closes 10, 11, 12.1, 9.68)
    closes = _closes(NAN, 10.0, 11.0, 12.1, 9.68)

    # When
    two_days = stdev_return(closes, 2)
    three_days = stdev_return(closes, 3)

    # Then window 2 (divide by 2 - 1 = 1): {10, 10} -> 0; {10, -20} -> mean -5,
    # squared deviations 225 + 225 = 450, 450 / 1 -> sqrt(450) = 15 * sqrt(2).
    # Window 3 (divide by 2): {10, 10, -20} -> mean 0, squares 100 + 100 + 400 = 600,
    # 600 / 2 = 300 -> sqrt(300) = 10 * sqrt(3)
    np.testing.assert_allclose(
        two_days, [NAN, NAN, NAN, 0.0, 15 * math.sqrt(2)], rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(three_days, [NAN, NAN, NAN, NAN, 10 * math.sqrt(3)], rtol=1e-12)


def test_stdev_price_is_the_sample_stdev_of_the_closes() -> None:
    # Given closes 1, 2, 3, 5 and window 3
    closes = _closes(1.0, 2.0, 3.0, 5.0)

    # When
    result = stdev_price(closes, 3)

    # Then {1, 2, 3}: mean 2, squares 1 + 0 + 1 = 2, 2 / (3 - 1) = 1 -> 1;
    # {2, 3, 5}: mean 10/3, squares 16/9 + 1/9 + 25/9 = 42/9, / 2 = 7/3 -> sqrt(7/3)
    np.testing.assert_allclose(result, [NAN, NAN, 1.0, math.sqrt(7 / 3)], rtol=1e-14)


def test_stdev_price_of_the_textbook_eight_values_divides_by_seven() -> None:
    # Given 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32;
    # the population stdev would be sqrt(32/8) = 2, the sample one is sqrt(32/7)
    closes = _closes(2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0)

    # When / Then
    assert stdev_price(closes, 8)[-1] == pytest.approx(math.sqrt(32 / 7), rel=1e-15)


@pytest.mark.parametrize("function", [stdev_price, stdev_return])
def test_stdev_of_a_one_value_window_is_refused(function: Callable[..., FloatArray]) -> None:
    # Given / When / Then: the sample deviation of one value is 0 / 0
    with pytest.raises(ValueError, match=r"^window must be an integer >= 2, was 1$"):
        function(_closes(10.0, 11.0, 9.9), 1)


def test_max_drawdown_is_the_largest_fall_from_an_earlier_peak_in_percent() -> None:
    # Given closes 100, 120, 90, 110, 80, 130 from row 1 and window 4
    closes = _closes(NAN, 100.0, 120.0, 90.0, 110.0, 80.0, 130.0)

    # When
    result = max_drawdown(closes, 4)

    # Then row 4 {100, 120, 90, 110}: 120 -> 90 = 25 %;
    # row 5 {120, 90, 110, 80}: 120 -> 80 = 100/3 %;
    # row 6 {90, 110, 80, 130}: 110 -> 80 = 300/11 % (90 -> 80 is smaller)
    np.testing.assert_allclose(result, [NAN, NAN, NAN, NAN, 25.0, 100 / 3, 300 / 11], rtol=1e-13)


def test_max_drawdown_of_rising_closes_is_0_even_after_an_earlier_trough() -> None:
    # Given a low followed by a high: the trough comes before the peak
    closes = _closes(80.0, 100.0, 120.0)

    # When / Then
    np.testing.assert_array_equal(max_drawdown(closes, 2), [NAN, 0.0, 0.0])
    np.testing.assert_array_equal(max_drawdown(closes, 3), [NAN, NAN, 0.0])


def test_window_of_one_gives_the_degenerate_value_of_each_indicator() -> None:
    # Given closes 10, 11, 9.9 (returns +10 %, -10 %)
    closes = _closes(10.0, 11.0, 9.9)

    # When / Then: one close or one return per window
    np.testing.assert_array_equal(moving_average_price(closes, 1), closes)
    np.testing.assert_array_equal(exponential_moving_average_price(closes, 1), closes)
    np.testing.assert_array_equal(max_drawdown(closes, 1), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(rsi_wilder(closes, 1), [NAN, 100.0, 0.0])
    np.testing.assert_allclose(cumulative_return(closes, 1), [NAN, 10.0, -10.0], rtol=1e-13)
    np.testing.assert_allclose(moving_average_return(closes, 1), [NAN, 10.0, -10.0], rtol=1e-13)


# --- shape, validity start and input handling ---------------------------------


@pytest.mark.parametrize(("name", "window"), _defined([1, 2, 10, 200]))
def test_first_valid_row_is_the_first_close_plus_the_registered_lookback(
    name: str, window: int, tqqq_listed_late: FloatArray
) -> None:
    # Given TQQQ's real closes behind 300 rows of NaN
    # When
    result = compute(name, tqqq_listed_late, window)

    # Then values start exactly lookback(window) rows after the first close, with no gap
    first = 300 + INDICATORS[name].lookback(window)
    assert result.dtype == np.float64
    assert result.shape == tqqq_listed_late.shape
    assert _first_valid_row(result) == first
    assert not np.isnan(result[first:]).any()


@pytest.mark.parametrize("name", list(INDICATORS))
def test_all_nan_or_empty_closes_give_all_nan_of_the_same_length(name: str) -> None:
    # Given a ticker with no closes yet, and no rows at all
    # When / Then
    assert np.isnan(compute(name, np.full(5, NAN), 3)).all()
    assert compute(name, np.empty(0), 3).shape == (0,)


@pytest.mark.parametrize("name", WINDOWED)
def test_closes_one_short_of_the_window_give_all_nan_and_one_more_gives_a_value(
    name: str,
) -> None:
    # Given exactly lookback(w) closes after a leading NaN, then one close more
    window = 5
    needed = INDICATORS[name].lookback(window) + 1
    short = np.concatenate([[NAN], np.linspace(10.0, 12.0, needed - 1)])
    enough = np.concatenate([[NAN], np.linspace(10.0, 12.0, needed)])

    # When / Then
    assert np.isnan(compute(name, short, window)).all()
    assert np.flatnonzero(~np.isnan(compute(name, enough, window))).tolist() == [needed]


@pytest.mark.parametrize("name", list(INDICATORS))
def test_indicators_never_write_into_their_input(name: str) -> None:
    # Given a writeable series with a leading NaN
    closes = _closes(NAN, 10.0, 11.0, 10.5, 12.0, 11.0, 11.5)
    before = closes.copy()

    # When
    result = compute(name, closes, 2)

    # Then the input is untouched and the result is a separate array
    np.testing.assert_array_equal(closes, before)
    assert not np.shares_memory(result, closes)


@pytest.mark.parametrize("window", [0, -3, 2.5, 10.0, True, "10", None])
@pytest.mark.parametrize("name", WINDOWED)
def test_window_that_is_not_an_integer_of_at_least_1_is_rejected(name: str, window: object) -> None:
    # Given / When / Then
    with pytest.raises(ValueError, match="window"):
        INDICATORS[name].function(_closes(1.0, 2.0, 3.0), window)


def test_window_error_says_what_was_expected_and_what_was_found() -> None:
    with pytest.raises(ValueError, match=r"^window must be an integer >= 1, was 0$"):
        moving_average_price(_closes(1.0, 2.0), 0)


def test_numpy_integer_window_is_accepted() -> None:
    closes = _closes(1.0, 2.0, 3.0)
    np.testing.assert_array_equal(moving_average_price(closes, np.int64(2)), [NAN, 1.5, 2.5])  # type: ignore[arg-type]


def test_nan_after_the_first_close_is_rejected() -> None:
    # Given a gap inside the series
    closes = _closes(NAN, 10.0, NAN, 11.0)

    # When / Then
    with pytest.raises(ValueError, match="row 2"):
        moving_average_price(closes, 2)


def test_two_dimensional_closes_are_rejected() -> None:
    with pytest.raises(ValueError, match="1-D"):
        current_price(np.ones((3, 2)))


# --- registry and dispatch ----------------------------------------------------


def test_registry_holds_the_nine_dsl_indicator_names() -> None:
    assert set(INDICATORS) == {
        "current-price",
        "moving-average-price",
        "exponential-moving-average-price",
        "rsi",
        "cumulative-return",
        "moving-average-return",
        "stdev-return",
        "stdev-price",
        "max-drawdown",
    }
    assert all(spec.name == name for name, spec in INDICATORS.items())
    assert [name for name, spec in INDICATORS.items() if not spec.needs_window] == ["current-price"]


@pytest.mark.parametrize("name", list(INDICATORS))
def test_compute_dispatches_to_the_registered_function(name: str, spy: FloatArray) -> None:
    spec = INDICATORS[name]
    direct = spec.function(spy, 14) if spec.needs_window else spec.function(spy)
    np.testing.assert_array_equal(compute(name, spy, 14), direct)


def test_compute_of_current_price_needs_no_window(spy: FloatArray) -> None:
    np.testing.assert_array_equal(compute("current-price", spy), spy)


def test_compute_of_an_unknown_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown indicator 'relative-strength-index'"):
        compute("relative-strength-index", _closes(1.0, 2.0), 1)


def test_compute_of_a_windowed_indicator_without_window_is_rejected() -> None:
    with pytest.raises(ValueError, match="needs a window"):
        compute("rsi", _closes(1.0, 2.0))


@pytest.mark.parametrize("name", list(INDICATORS))
def test_scale_free_flag_matches_how_the_value_responds_to_scaling_prices(
    name: str, tqqq: FloatArray
) -> None:
    # Given TQQQ's closes and the same closes multiplied by 37.5
    factor = 37.5

    # When
    plain = compute(name, tqqq, 20)
    scaled = compute(name, tqqq * factor, 20)

    # Then scale-free values are unchanged and price-level ones scale with the prices
    expected = plain if INDICATORS[name].scale_free else plain * factor
    np.testing.assert_allclose(scaled, expected, rtol=1e-9, atol=1e-9)


# --- real data: naive cross-checks and causality --------------------------------


def _naive_ema(closes: FloatArray, window: int) -> FloatArray:
    alpha = 2.0 / (window + 1)
    result = np.full(closes.size, NAN)
    average = closes[0]
    for row, price in enumerate(closes):
        if row > 0:
            average = alpha * price + (1.0 - alpha) * average
        if row >= window - 1:
            result[row] = average
    return result


def _naive_rsi(closes: FloatArray, window: int) -> FloatArray:
    result = np.full(closes.size, NAN)
    changes = [closes[row] - closes[row - 1] for row in range(1, closes.size)]
    gains = [max(change, 0.0) for change in changes]
    losses = [max(-change, 0.0) for change in changes]
    gain = sum(gains[:window]) / window
    loss = sum(losses[:window]) / window
    for row in range(window, closes.size):
        if row > window:
            gain = (gain * (window - 1) + gains[row - 1]) / window
            loss = (loss * (window - 1) + losses[row - 1]) / window
        if loss == 0.0:
            result[row] = 100.0 if gain > 0.0 else 50.0
        else:
            result[row] = 100.0 - 100.0 / (1.0 + gain / loss)
    return result


def _naive_max_drawdown(closes: FloatArray, window: int) -> FloatArray:
    result = np.full(closes.size, NAN)
    for row in range(window - 1, closes.size):
        peak, worst = closes[row - window + 1], 0.0
        for price in closes[row - window + 1 : row + 1]:
            peak = max(peak, price)
            worst = max(worst, 1.0 - price / peak)
        result[row] = worst * 100.0
    return result


@pytest.mark.parametrize("ticker", ["SPY", "TQQQ"])
@pytest.mark.parametrize("window", [2, 10, 14, 200])
def test_ema_and_rsi_match_naive_loops_on_real_closes(ticker: str, window: int) -> None:
    # Given real adjusted closes
    closes = _load_closes(ticker)

    # When / Then
    np.testing.assert_allclose(
        exponential_moving_average_price(closes, window), _naive_ema(closes, window), rtol=1e-9
    )
    np.testing.assert_allclose(rsi_wilder(closes, window), _naive_rsi(closes, window), rtol=1e-9)


@pytest.mark.parametrize("window", [1, 5, 12, 60])
def test_max_drawdown_equals_the_running_peak_loop_exactly_on_real_closes(
    window: int, tqqq: FloatArray
) -> None:
    # Given the last 1,500 TQQQ closes (a 2020 crash and 2022 bear market inside)
    closes = tqqq[-1500:]

    # When / Then the power-of-two joins give the same bits as the plain loop
    np.testing.assert_array_equal(max_drawdown(closes, window), _naive_max_drawdown(closes, window))


@pytest.mark.parametrize("window", [2, 3, 20, 200, 360])
def test_windowed_means_and_stdevs_match_numpy_on_real_closes(window: int, spy: FloatArray) -> None:
    # Given SPY's closes and daily returns, and numpy's own reductions over each window
    # (the standard deviations with ddof=1, the sample deviation)
    returns = spy[1:] / spy[:-1] - 1.0
    closes_windows = sliding_window_view(spy, window)
    return_windows = sliding_window_view(returns, window)
    lead = np.full(window - 1, NAN)

    # When / Then
    np.testing.assert_allclose(
        moving_average_price(spy, window),
        np.concatenate([lead, closes_windows.mean(axis=1)]),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        stdev_price(spy, window),
        np.concatenate([lead, closes_windows.std(axis=1, ddof=1)]),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        moving_average_return(spy, window),
        np.concatenate([[NAN], lead, return_windows.mean(axis=1) * 100]),
        rtol=1e-10,
        atol=1e-13,
    )
    np.testing.assert_allclose(
        stdev_return(spy, window),
        np.concatenate([[NAN], lead, return_windows.std(axis=1, ddof=1) * 100]),
        rtol=1e-12,
    )


def test_moving_average_of_a_one_day_window_is_each_close_and_return(spy: FloatArray) -> None:
    returns = spy[1:] / spy[:-1] - 1.0
    np.testing.assert_allclose(moving_average_price(spy, 1), spy, rtol=1e-15)
    np.testing.assert_allclose(
        moving_average_return(spy, 1), np.concatenate([[NAN], returns * 100]), rtol=1e-12
    )


@pytest.mark.parametrize(("name", "window"), _defined([1, 2, 14, 200]))
def test_value_at_a_row_is_bit_identical_when_the_data_stops_at_that_row(
    name: str, window: int, spy: FloatArray, tqqq_listed_late: FloatArray
) -> None:
    for closes in (spy, tqqq_listed_late):
        # Given the indicator over all rows
        full = compute(name, closes, window)
        first_valid = _first_valid_row(full)
        around_start = range(first_valid - 1, first_valid + 3)
        spread = np.linspace(1, closes.size - 1, 40, dtype=int).tolist()

        for stop in sorted({*around_start, *spread}):
            # When the data ends at row stop - 1
            truncated = compute(name, closes[:stop], window)

            # Then every row up to there is the same, bit for bit
            np.testing.assert_array_equal(truncated, full[:stop], err_msg=f"stop={stop}")


# --- properties ---------------------------------------------------------------


@st.composite
def _series_and_window(draw: st.DrawFn) -> tuple[FloatArray, int]:
    prices = draw(
        st.lists(st.floats(min_value=0.01, max_value=1e4), min_size=1, max_size=80).map(
            lambda values: np.array(values, dtype=np.float64)
        )
    )
    window = draw(st.integers(min_value=1, max_value=prices.size))
    return prices, window


@settings(max_examples=300, deadline=None)
@given(_series_and_window())
def test_max_drawdown_equals_the_running_peak_loop_for_any_positive_series(
    case: tuple[FloatArray, int],
) -> None:
    prices, window = case
    result = max_drawdown(prices, window)
    np.testing.assert_array_equal(result, _naive_max_drawdown(prices, window))
    assert ((result[window - 1 :] >= 0.0) & (result[window - 1 :] < 100.0)).all()


@settings(max_examples=300, deadline=None)
@given(_series_and_window())
def test_stdev_price_matches_numpy_and_rsi_stays_in_0_to_100_for_any_positive_series(
    case: tuple[FloatArray, int],
) -> None:
    prices, window = case
    if window >= 2:
        expected = np.concatenate(
            [np.full(window - 1, NAN), sliding_window_view(prices, window).std(axis=1, ddof=1)]
        )
        np.testing.assert_allclose(stdev_price(prices, window), expected, rtol=1e-9, atol=1e-9)
    rsi = rsi_wilder(prices, window)[window:]
    assert ((rsi >= 0.0) & (rsi <= 100.0)).all()

"""Indicators of the symphony language, as pure functions over daily closes.

Every function takes a 1-D float64 array of split- and dividend-adjusted daily
closes ``closes`` (length T, oldest first) and returns a new float64 array of
length T. Row t of the result uses closes up to and including row t only, so
a value never changes when later rows are appended (the backtest trades at the
same close the signal reads).

The series may begin with NaNs (a ticker not yet listed, a sub-portfolio price
series not yet valid); after its first close it must have no gaps. A result is
NaN until its full window exists: ``INDICATORS[name].lookback(window)`` rows
after the first close. Returns and drawdowns are in percent, windows in
trading days, ``r_t = p_t / p_{t-1} - 1``.

Windowed statistics are joined from power-of-two runs of rows (see
``_over_windows``): a few vector operations per doubling instead of one pass
per row of the window, with an order of operations fixed by the window alone.
The two recursions (EMA, Wilder) run in pandas' compiled ``ewm``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_SMOOTH_BLOCK = 256  # values per closed-form block of _smooth
_SMOOTH_MAX_EXPONENT = 600.0  # keeps (1 - alpha)^-block below 2^600, far from float overflow

RSI_WHEN_FLAT = 50.0
"""RSI reported while average gain and average loss are both zero (no change yet)."""

STDEV_MIN_WINDOW = 2
"""The sample standard deviation of a single value is undefined (0 / 0)."""


def current_price(closes: FloatArray) -> FloatArray:
    """Return the close itself: ``p_t``, valid from the first close."""
    return _indicator(closes, 0, lambda p: p)


def moving_average_price(closes: FloatArray, window: int) -> FloatArray:
    """Return the mean of the last ``window`` closes: ``sum(p_{t-w+1..t}) / w``."""
    w = _checked_window(window)
    return _indicator(closes, w - 1, lambda p: _window_sum(p, w) / w)


def exponential_moving_average_price(closes: FloatArray, window: int) -> FloatArray:
    """Return the EMA of the closes over all history, alpha = 2 / (window + 1).

    ``y_0 = p_0``, ``y_t = alpha * p_t + (1 - alpha) * y_{t-1}``; the recursion
    starts at the first close, values are reported once ``window`` closes exist.
    """
    w = _checked_window(window)
    return _indicator(closes, w - 1, lambda p: _smooth(p, 2.0 / (w + 1))[w - 1 :])


def rsi_wilder(closes: FloatArray, window: int) -> FloatArray:
    """Return Wilder's relative strength index, 0 to 100.

    With changes ``x_t = p_t - p_{t-1}``, gains ``max(x, 0)`` and losses
    ``max(-x, 0)``: the first averages G, L are the simple means of the first
    ``window`` changes (valid at ``window + 1`` closes), then each average
    follows ``avg_t = (avg_{t-1} * (w - 1) + move_t) / w`` over all history.
    ``RSI = 100 - 100 / (1 + G / L)``; L = 0 gives 100, and G = L = 0 (no change
    since the series began) gives ``RSI_WHEN_FLAT`` = 50.
    """
    w = _checked_window(window)

    def wilder(p: FloatArray) -> FloatArray:
        changes = np.diff(p)
        gain = _wilder_average(np.where(changes > 0.0, changes, 0.0), w)
        loss = _wilder_average(np.where(changes < 0.0, -changes, 0.0), w)
        with np.errstate(divide="ignore", invalid="ignore"):
            rsi = 100.0 - 100.0 / (1.0 + gain / loss)
        rsi[(gain == 0.0) & (loss == 0.0)] = RSI_WHEN_FLAT
        return rsi

    return _indicator(closes, w, wilder)


def cumulative_return(closes: FloatArray, window: int) -> FloatArray:
    """Return the percent change over ``window`` days: ``(p_t / p_{t-w} - 1) * 100``."""
    w = _checked_window(window)
    return _indicator(closes, w, lambda p: (p[w:] / p[:-w] - 1.0) * 100.0)


def moving_average_return(closes: FloatArray, window: int) -> FloatArray:
    """Return the mean of the last ``window`` daily returns, in percent."""
    w = _checked_window(window)
    return _indicator(closes, w, lambda p: _window_sum(_daily_returns(p), w) / w * 100.0)


def stdev_return(closes: FloatArray, window: int) -> FloatArray:
    """Return the sample stdev (ddof 1) of the last ``window`` daily returns, in percent.

    Daily, not annualised: ``sqrt(sum((r_i - mean(r))^2) / (w - 1)) * 100``; the window
    must hold at least two returns. Composer divides by ``w - 1`` (see the README).
    """
    w = _checked_window(window, STDEV_MIN_WINDOW)
    return _indicator(closes, w, lambda p: _window_stdev(_daily_returns(p), w) * 100.0)


def stdev_price(closes: FloatArray, window: int) -> FloatArray:
    """Return the sample stdev (ddof 1) of the last ``window`` closes (``w >= 2``)."""
    w = _checked_window(window, STDEV_MIN_WINDOW)
    return _indicator(closes, w - 1, lambda p: _window_stdev(p, w))


def max_drawdown(closes: FloatArray, window: int) -> FloatArray:
    """Return the largest peak-to-trough fall within the last ``window`` closes, in percent.

    ``max over i <= j in the window of (1 - p_j / p_i) * 100``: positive, 0 when
    prices only rose. The peak must come before the trough.
    """
    w = _checked_window(window)
    return _indicator(closes, w - 1, lambda p: _window_max_fall(p, w) * 100.0)


@dataclass(frozen=True)
class IndicatorSpec:
    """What the DSL compiler needs to know about one indicator.

    ``lookback(window)`` is how many rows after the first close the value first
    becomes valid; ``scale_free`` is True when multiplying the whole price
    series by a constant leaves the value unchanged; ``min_window`` is the
    smallest window the indicator is defined for.
    """

    name: str
    function: Callable[..., FloatArray]
    needs_window: bool
    lookback: Callable[[int], int]
    scale_free: bool
    min_window: int = 1


def _spec(
    name: str,
    function: Callable[..., FloatArray],
    lookback: Callable[[int], int],
    *,
    scale_free: bool,
    needs_window: bool = True,
    min_window: int = 1,
) -> tuple[str, IndicatorSpec]:
    return name, IndicatorSpec(name, function, needs_window, lookback, scale_free, min_window)


INDICATORS: Mapping[str, IndicatorSpec] = MappingProxyType(
    dict(
        [
            _spec(
                "current-price",
                current_price,
                lambda _w: 0,
                scale_free=False,
                needs_window=False,
            ),
            _spec("moving-average-price", moving_average_price, lambda w: w - 1, scale_free=False),
            _spec(
                "exponential-moving-average-price",
                exponential_moving_average_price,
                lambda w: w - 1,
                scale_free=False,
            ),
            _spec("rsi", rsi_wilder, lambda w: w, scale_free=True),
            _spec("cumulative-return", cumulative_return, lambda w: w, scale_free=True),
            _spec("moving-average-return", moving_average_return, lambda w: w, scale_free=True),
            _spec(
                "stdev-return",
                stdev_return,
                lambda w: w,
                scale_free=True,
                min_window=STDEV_MIN_WINDOW,
            ),
            _spec(
                "stdev-price",
                stdev_price,
                lambda w: w - 1,
                scale_free=False,
                min_window=STDEV_MIN_WINDOW,
            ),
            _spec("max-drawdown", max_drawdown, lambda w: w - 1, scale_free=True),
        ]
    )
)
"""The indicators by their DSL names."""


def compute(name: str, closes: FloatArray, window: int | None = None) -> FloatArray:
    """Compute the indicator called ``name`` in the DSL; ``current-price`` ignores ``window``."""
    spec = INDICATORS.get(name)
    if spec is None:
        raise ValueError(f"unknown indicator {name!r}, expected one of {', '.join(INDICATORS)}")
    if not spec.needs_window:
        return spec.function(closes)
    if window is None:
        raise ValueError(f"indicator {name!r} needs a window, none was given")
    return spec.function(closes, window)


def _checked_window(window: object, minimum: int = 1) -> int:
    """Return ``window`` as an int, or raise if it is not an integer >= ``minimum``."""
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < minimum:
        raise ValueError(f"window must be an integer >= {minimum}, was {window!r}")
    return int(window)


def _indicator(
    closes: FloatArray, lookback: int, values_of: Callable[[FloatArray], FloatArray]
) -> FloatArray:
    """Apply ``values_of`` to the closes after the leading NaNs and align its result.

    ``values_of`` gets the gap-free prices (at least ``lookback + 1`` of them)
    and returns one value per row from row ``lookback`` of those prices on.
    """
    prices = np.asarray(closes, dtype=np.float64)
    if prices.ndim != 1:
        raise ValueError(f"closes must be a 1-D array, had shape {prices.shape}")
    missing = np.isnan(prices)
    first = prices.size if missing.all() else int(np.argmin(missing))
    gaps = np.flatnonzero(missing[first:])
    if gaps.size:
        raise ValueError(
            f"closes must have no NaN after the first close (row {first}),"
            f" found one at row {first + int(gaps[0])}"
        )
    result = np.full(prices.size, np.nan)
    if prices.size - first > lookback:
        result[first + lookback :] = values_of(prices[first:])
    return result


def _daily_returns(prices: FloatArray) -> FloatArray:
    """Return ``r_t = p_t / p_{t-1} - 1`` for t >= 1."""
    return prices[1:] / prices[:-1] - 1.0


Stats = tuple[FloatArray, ...]
"""Statistics of runs of rows, one array per statistic, indexed by the run's first row."""


def _window_sum(values: FloatArray, window: int) -> FloatArray:
    """Return the sum of each run of ``window`` consecutive values (pairwise summation)."""
    (total,) = _over_windows((values,), window, _merge_sums)
    return total


def _window_stdev(values: FloatArray, window: int) -> FloatArray:
    """Return the sample stdev (ddof 1) of each run of ``window >= 2`` values."""
    _, squares = _over_windows((values, np.zeros(values.size)), window, _merge_moments)
    return np.sqrt(squares / (window - 1))


def _window_max_fall(prices: FloatArray, window: int) -> FloatArray:
    """Return ``max over i <= j of 1 - p_j / p_i`` for each run of ``window`` prices."""
    leaves = (prices, prices, np.zeros(prices.size))
    _, _, fall = _over_windows(leaves, window, _merge_falls)
    return fall


def _over_windows(
    leaves: Stats, window: int, merge: Callable[[Stats, Stats, int, int], Stats]
) -> Stats:
    """Return the statistics of each run of ``window`` rows, built from one-row ``leaves``.

    ``merge(left, right, left_rows, right_rows)`` gives the statistics of two
    adjacent runs joined. Runs of 2**k rows come from doubling, and a window is
    joined left to right from the power-of-two runs of its binary digits: log2
    of the window in vector steps rather than one per row of the window. The
    operations for a window depend on its own rows only, so a value is the same
    bit for bit however many rows follow it.
    """
    count = leaves[0].size - window + 1
    blocks: Stats = leaves
    run: Stats = ()
    size, covered = 1, 0
    while True:
        if window & size:
            piece = tuple(block[covered : covered + count] for block in blocks)
            run = merge(run, piece, covered, size) if covered else piece
            covered += size
        if 2 * size > window:
            return run
        starts = blocks[0].size - size
        left = tuple(block[:starts] for block in blocks)
        right = tuple(block[size:] for block in blocks)
        blocks = merge(left, right, size, size)
        size *= 2


def _merge_sums(left: Stats, right: Stats, _left_rows: int, _right_rows: int) -> Stats:
    """Join the sums of two runs."""
    return (left[0] + right[0],)


def _merge_moments(left: Stats, right: Stats, left_rows: int, right_rows: int) -> Stats:
    """Join (mean, sum of squared deviations) of two runs (Chan, Golub and LeVeque)."""
    rows = left_rows + right_rows
    delta = right[0] - left[0]
    mean = left[0] + delta * (right_rows / rows)
    squares = left[1] + right[1] + delta * delta * (left_rows * right_rows / rows)
    return mean, squares


def _merge_falls(left: Stats, right: Stats, _left_rows: int, _right_rows: int) -> Stats:
    """Join (highest, lowest, worst fall) of two runs.

    A fall across the runs is at worst ``1 - min(right) / max(left)``; division
    and subtraction round monotonically, so this equals the largest
    ``1 - p_j / p_i`` over all pairs bit for bit.
    """
    high_l, low_l, fall_l = left
    high_r, low_r, fall_r = right
    fall = np.maximum(np.maximum(fall_l, fall_r), 1.0 - low_r / high_l)
    return np.maximum(high_l, high_r), np.minimum(low_l, low_r), fall


def _smooth(values: FloatArray, alpha: float) -> FloatArray:
    """Return ``y_0 = v_0``, ``y_t = alpha * v_t + (1 - alpha) * y_{t-1}``.

    Computed block by block in closed form, with ``d = 1 - alpha`` and ``y_s`` the
    value before the block: ``y_{s+j} = d^j * (y_s + alpha * sum_{i<=j} v_{s+i} / d^i)``.
    Blocks are short enough that ``d^-i`` stays far from overflow and, the values
    being >= 0 here (prices, gains, losses), each cumulative sum is within
    ``_SMOOTH_BLOCK`` rounding errors of exact (numpy, no Python loop per value).
    """
    out = np.array(values, dtype=np.float64)
    decay = 1.0 - alpha
    if out.size < 2 or decay == 0.0:
        return out
    block = max(1, min(_SMOOTH_BLOCK, int(_SMOOTH_MAX_EXPONENT / -math.log2(decay))))
    growth = decay ** -np.arange(1.0, block + 1.0)  # d^-1 .. d^-block
    for start in range(1, out.size, block):
        chunk = out[start : start + block]
        scale = growth[: chunk.size]
        carry = out[start - 1]
        out[start : start + chunk.size] = (carry + alpha * np.cumsum(chunk * scale)) / scale
    return out


def _wilder_average(moves: FloatArray, window: int) -> FloatArray:
    """Return Wilder's average of ``moves`` from the ``window``-th move on.

    Seeded with the simple mean of the first ``window`` moves, then
    ``avg_t = (avg_{t-1} * (window - 1) + move_t) / window``.
    """
    seeded = moves[window - 1 :].copy()
    seeded[0] = moves[:window].mean()
    return _smooth(seeded, 1.0 / window)

"""Daily moves that nothing in the market explains: the mark of a bad print.

A close is judged by its move from the previous close, ``r_t = p_t / p_{t-1} - 1``,
against what the rest of the data did that day. Every statistic is *trailing*: it
reads the ``VOL_WINDOW`` (60) daily returns before row t, never row t itself.

**Peers.** A ticker's close peers are the tickers whose daily returns correlated with
its own at ``|rho| >= PEER_MIN_CORRELATION`` (0.8) over those 60 days (at least 20 in
common). Its best peer is the closest one. A peer k says what the ticker should have
done: ``r_t ~ a + beta * r_k,t``; the residual ``e_t`` is what it leaves unexplained and
``sigma_e`` the standard deviation of that residual over the window.

**Unexplained.** A move is unexplained when all of these hold:

1. ``|r_t| >= MIN_MOVE`` (1 %): smaller errors cannot move a signal that ordinary noise
   does not, and T-bill funds step by a fraction of that on ex-dividend days;
2. it is abnormal for the ticker itself, in sigma of its own trailing returns: at
   least ``MIN_SIGMAS`` (3) when its best peer is a perfect twin (|rho| = 1), rising
   linearly to ``OWN_SIGMAS`` (8) at the loosest peer (|rho| = 0.8) and for a ticker
   without one (then its own volatility is all there is to go on: a bar of 10 would
   let a 20 % error in SPY through whenever its daily volatility exceeded 2 %, as in
   1998, when SPY had no peer in this data);
3. its best peer does not explain it: ``|e_t| >= PEER_SIGMAS (8) * sigma_e`` and
   ``|e_t| >= UNEXPLAINED_SHARE`` (50 %) of the move;
4. no close peer that itself moved ``CORROBORATION_SIGMAS`` (3) sigma that day implies a
   move within 50 % of it (a weaker peer corroborates only an abnormal day);
5. no close peer moved ``EVENT_SIGMAS`` (8) sigma of its own the day before: after such
   an event the next close is still settling (VIX futures settle at 4:15 pm, after the
   ETFs that hold them close, so SVXY's collapse of 2018-02-05 reached its close on
   02-06, while UVXY retraced).

On a **market-wide day** (at least ``STRESS_SHARE``, 10 %, of the other tickers, and at
least two, moved ``STRESS_SIGMAS``, 3, sigma or more) correlations and volatilities
estimated in calm weeks understate the day, so the bar of 3 and that of 2 for a ticker
without peers are multiplied by ``STRESS_FACTOR`` (2.5). A print in a ticker with a
leveraged or inverse twin is still caught that day: its twin's residual is a fraction
of a percent.

The peers are the other tickers of the history checked: the cycle and the commands load
the tickers a symphony reads, so a symphony with few tickers leans on rule 2, and a
genuine market-wide day may be flagged for it (SPY's -3.5 % of 2007-02-27 is 8.9 sigma
after a calm winter and has no peer among ``tqqq_ftlt.clj``'s tickers); which allocations
such a close decided is then what matters (``alchemiser.backtest.data_check``).

Measured on the 51 real ETFs of ``../shared/data/prices`` (all of them as peers, every
day of every ticker, ~247,000 closes) by ``benchmarks/quality_sweep.py``: the rule flags
the three known bad closes (BTAL 2015-04-29, UUP 2007-06-20, SOXS 2026-05-26) and three
genuine moves (LQD 2008-09-16, BSV 2008-10-01, AGG 2008-10-10: bond funds without a
close peer in the 2008 crisis) and nothing else: none of the days of UVXY/SVXY in
2018-02, SOXL/SOXS in 2025-04 or any ticker in 2020-03. A +20 % or -20 % error injected
into the latest close of SPY, QQQE or TQQQ on every 7th trading day (4,542 trials) was
caught every time except when the error was within 3 sigma of the ticker's own
volatility (TQQQ in storms: 89 of its 1,156 trials), on market-wide days after a peer's
8-sigma event or matched by an abnormal peer (5 trials: 2011-08-04, 2020-03-10,
2020-03-11, 2025-04-04), and once below the bar of SPY's peer then (2008-11-21, SPY's
volatility 4 % a day). When the broken ticker is another one's best peer, that one may
be flagged with it, never on another day. The tests in
``tests/unit/test_market_quality_real.py`` repeat this on a sparser sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alchemiser.market.history import FloatArray

VOL_WINDOW = 60
VOL_MIN_OBSERVATIONS = 20
MIN_MOVE = 0.01
MIN_SIGMAS = 3.0
OWN_SIGMAS = 8.0
PEER_MIN_CORRELATION = 0.8
PEER_SIGMAS = 8.0
UNEXPLAINED_SHARE = 0.5
EVENT_SIGMAS = 8.0
CORROBORATION_SIGMAS = 3.0
STRESS_SIGMAS = 3.0
STRESS_SHARE = 0.10
STRESS_MIN_TICKERS = 2
STRESS_FACTOR = 2.5

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class PeerView:
    """What the best peer of a ticker did on the day of a move."""

    ticker: str
    correlation: float
    move: float
    implied: float  # the move the peer implies for the ticker (beta * move, plus the drift)

    def describe(self) -> str:
        return (
            f"{self.ticker} (correlation {self.correlation:+.2f}) moved {self.move:+.1%}, "
            f"which implies {self.implied:+.1%}"
        )


@dataclass(frozen=True)
class UnexplainedMove:
    """A move of column ``column`` on ``row`` that neither peers nor the market explain."""

    row: int
    column: int
    move: float
    sigmas: float  # |move - mean| / sigma of the ticker's own trailing returns
    market_wide: bool
    peer: PeerView | None


def own_bar(correlation: FloatArray) -> FloatArray:
    """Return the sigmas a move must reach for a ticker whose best peer has ``correlation``.

    ``MIN_SIGMAS`` for a perfect twin, rising linearly to ``OWN_SIGMAS`` at the weakest
    peer (``PEER_MIN_CORRELATION``): the looser the peer, the more the ticker stands on
    its own volatility.
    """
    looseness = (1.0 - correlation) / (1.0 - PEER_MIN_CORRELATION)
    return np.asarray(MIN_SIGMAS + (OWN_SIGMAS - MIN_SIGMAS) * np.clip(looseness, 0.0, 1.0))


def trailing_mean_std(
    values: FloatArray, window: int, min_count: int
) -> tuple[FloatArray, FloatArray]:
    """Return, per row and column, the mean and sample deviation (n - 1) of the ``window``
    rows before it, NaNs skipped; NaN where fewer than ``min_count`` values are finite.

    The figures of pandas' ``rolling(window, min_periods=min_count)`` mean and std shifted
    one row (to ~1e-12, tested on every real ticker), in numpy: importing pandas would
    add ~0.2 s to every command that checks prices. Windows are differences of running
    sums of each column's values less the column's mean (so the sums stay small); a
    window in which nothing moved has a deviation of exactly 0, as pandas gives.
    """
    rows, columns = values.shape
    finite = np.isfinite(values)
    counts = finite.sum(axis=0)
    centre = np.where(
        counts > 0, np.where(finite, values, 0.0).sum(axis=0) / np.maximum(counts, 1), 0.0
    )
    centred = np.where(finite, values - centre, 0.0)
    moved = finite & (values != 0.0)

    def window_sums(per_row: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        running = np.concatenate([np.zeros((1, columns)), np.cumsum(per_row, axis=0)])
        end = np.arange(rows)  # row t's window: rows t - window .. t - 1
        return np.asarray(running[end] - running[np.maximum(end - window, 0)])

    count = window_sums(finite.astype(np.float64))
    total, squares = window_sums(centred), window_sums(centred * centred)
    flat = window_sums(moved.astype(np.float64)) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        average = total / count
        variance = np.maximum(squares - total * average, 0.0) / (count - 1)
    enough = count >= min_count
    mean = np.where(enough, np.where(flat, 0.0, average + centre), np.nan)
    sigma = np.where(enough, np.where(flat, 0.0, np.sqrt(variance)), np.nan)
    return mean, sigma


class MarketMoves:
    """Trailing statistics of every column of ``closes``, to judge any day's move."""

    def __init__(self, closes: FloatArray, tickers: tuple[str, ...], from_row: int = 0) -> None:
        usable = np.where(np.isfinite(closes) & (closes > 0), closes, np.nan)
        self.tickers = tickers
        self.closes = usable
        self.returns = np.full(usable.shape, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.returns[1:] = usable[1:] / usable[:-1] - 1.0
        # Statistics are needed from ``from_row`` on, which needs VOL_WINDOW rows before it.
        start = max(from_row - VOL_WINDOW - 1, 0)
        self.mean = np.full(usable.shape, np.nan)
        self.sigma = np.full(usable.shape, np.nan)
        self.mean[start:], self.sigma[start:] = trailing_mean_std(
            self.returns[start:], VOL_WINDOW, VOL_MIN_OBSERVATIONS
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            self.z = (self.returns - self.mean) / self.sigma
        valid = np.isfinite(self.z)
        self._abnormal = valid & (np.abs(np.where(valid, self.z, 0.0)) >= STRESS_SIGMAS)
        self._valid = valid

    def sigmas_needed(self, row: int, column: int) -> float:
        """Return how many of its own sigmas a move of ``column`` on ``row`` must reach."""
        rows = np.array([row], dtype=np.intp)
        fit = _PeerFit(self.returns, rows, column)
        if fit.close[0].any():
            return float(own_bar(np.abs(fit.correlation[0, fit.best()[0]])))
        factor = STRESS_FACTOR if self.market_wide(rows, column)[0] else 1.0
        return OWN_SIGMAS * factor

    def market_wide(self, rows: IntArray, column: int) -> BoolArray:
        """Say, per row, whether enough *other* tickers moved abnormally that day."""
        others = self._valid[rows].sum(axis=1) - self._valid[rows, column]
        abnormal = self._abnormal[rows].sum(axis=1) - self._abnormal[rows, column]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(others > 0, abnormal / np.maximum(others, 1), 0.0)
        return np.asarray((abnormal >= STRESS_MIN_TICKERS) & (share >= STRESS_SHARE))

    def unexplained(self, column: int, first_row: int) -> list[UnexplainedMove]:
        """Return the unexplained moves of ``column`` on rows ``first_row`` onward."""
        move, z = self.returns[:, column], self.z[:, column]
        with np.errstate(invalid="ignore"):
            candidate = (np.abs(move) >= MIN_MOVE) & (np.abs(z) >= MIN_SIGMAS)
        candidate[: max(first_row, 1)] = False
        rows = np.flatnonzero(candidate)
        if not rows.size:
            return []
        return self._judge(rows, column)

    def _judge(self, rows: IntArray, column: int) -> list[UnexplainedMove]:
        fit = _PeerFit(self.returns, rows, column)
        move = self.returns[rows, column]
        own = np.abs(self.z[rows, column])
        stressed = self.market_wide(rows, column)
        factor = np.where(stressed, STRESS_FACTOR, 1.0)
        has_peer = fit.close.any(axis=1)
        best = fit.best()
        at = np.arange(rows.size)
        abnormal = np.where(
            has_peer,
            own >= own_bar(np.abs(fit.correlation[at, best])),
            own >= OWN_SIGMAS * factor,
        )
        residual, spread = np.abs(fit.residual[at, best]), fit.residual_sigma[at, best]
        with np.errstate(invalid="ignore"):
            best_explains = has_peer & (
                (residual < PEER_SIGMAS * factor * spread)
                | (residual < UNEXPLAINED_SHARE * np.abs(move))
            )
            # A weaker peer corroborates only if it moved abnormally itself that day.
            corroborating = fit.close & (np.abs(self.z[rows]) >= CORROBORATION_SIGMAS)
            any_matches = (
                corroborating & (np.abs(fit.residual) < UNEXPLAINED_SHARE * np.abs(move)[:, None])
            ).any(axis=1)
        caught_up = self._after_an_event(rows, fit)
        flagged = abnormal & ~best_explains & ~any_matches & ~caught_up
        out = []
        for i in np.flatnonzero(flagged):
            peer = fit.view(int(i), int(best[i]), self.tickers) if has_peer[i] else None
            out.append(
                UnexplainedMove(
                    int(rows[i]), column, float(move[i]), float(own[i]), bool(stressed[i]), peer
                )
            )
        return out

    def _after_an_event(self, rows: IntArray, fit: _PeerFit) -> BoolArray:
        """Say whether a close peer made an extreme move of its own the day before."""
        with np.errstate(invalid="ignore"):
            extreme = np.abs(self.z[rows - 1]) >= EVENT_SIGMAS
        return np.asarray((fit.close & extreme).any(axis=1))


class _PeerFit:
    """Least-squares fits of one column on every other, over each row's trailing window."""

    def __init__(self, returns: FloatArray, rows: IntArray, column: int) -> None:
        offsets = np.arange(-VOL_WINDOW, 0)
        index = rows[:, None] + offsets[None, :]
        inside = index >= 0
        window = np.where(inside[:, :, None], returns[np.maximum(index, 0)], np.nan)
        both = np.isfinite(window[:, :, column : column + 1]) & np.isfinite(window)
        count = both.sum(axis=1)
        x = np.where(both, window[:, :, column : column + 1], 0.0)
        y = np.where(both, window, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_x = x.sum(axis=1) / count
            mean_y = y.sum(axis=1) / count
            # Returns are ~1e-2 over 60 rows: the one-pass sums lose nothing that matters.
            cov = np.einsum("cwn,cwn->cn", x, y) - count * mean_x * mean_y
            var_x = np.einsum("cwn,cwn->cn", x, x) - count * mean_x**2
            var_y = np.einsum("cwn,cwn->cn", y, y) - count * mean_y**2
            self.correlation = cov / np.sqrt(var_x * var_y)
            self.beta = cov / var_y
            self.residual_sigma = np.sqrt(
                np.maximum(var_x * (1.0 - self.correlation**2), 0.0) / (count - 2)
            )
            today = returns[rows]
            self.implied = mean_x + self.beta * (today - mean_y)
            self.residual = today[:, column : column + 1] - self.implied
        usable = (count >= VOL_MIN_OBSERVATIONS) & np.isfinite(self.correlation)
        usable &= np.isfinite(today)
        usable[:, column] = False
        self.close = usable & (
            np.abs(np.where(usable, self.correlation, 0.0)) >= PEER_MIN_CORRELATION
        )
        self.today = today

    def best(self) -> IntArray:
        """Return, per row, the column of the closest peer (meaningless without one)."""
        closeness = np.where(self.close, np.abs(self.correlation), -1.0)
        return np.asarray(np.argmax(closeness, axis=1), dtype=np.intp)

    def view(self, i: int, k: int, tickers: tuple[str, ...]) -> PeerView:
        return PeerView(
            tickers[k],
            float(self.correlation[i, k]),
            float(self.today[i, k]),
            float(self.implied[i, k]),
        )

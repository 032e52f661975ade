"""The engine on real data: Composer's own allocations, no look-ahead, valid weights."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from alchemiser.dsl.ast import tickers_of
from alchemiser.dsl.engine import evaluate_history
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import compile_symphony
from alchemiser.market.loader import load_price_directory
from alchemiser.market.synthetic import with_stand_ins
from tests.conftest import COMPOSER_DIR, PRICES_DIR, SYMPHONIES_DIR

FULLY_COVERED = [
    SYMPHONIES_DIR / "gold.clj",
    SYMPHONIES_DIR / "holy_grail.clj",
    SYMPHONIES_DIR / "soxl_growth.clj",
    SYMPHONIES_DIR / "tqqq_ftlt.clj",
    COMPOSER_DIR / "tqqq_ftlt_mods.clj",
]


def _ground_truth() -> list[tuple[date, dict[str, float]]]:
    rows = []
    with (COMPOSER_DIR / "tqqq_ftlt_mods.ground_truth.csv").open() as handle:
        for row in csv.DictReader(handle):
            weights = {}
            for part in row["composer_allocation"].split(";"):
                ticker, percent = part.split("=")
                weights[ticker.strip()] = float(percent.strip().rstrip("%")) / 100
            rows.append((date.fromisoformat(row["date"]), weights))
    return rows


def test_tqqq_ftlt_mods_reproduces_composer_on_all_242_dates() -> None:
    # Given the symphony Composer ran daily since 2011 and its recorded allocations
    symphony = load_symphony(COMPOSER_DIR / "tqqq_ftlt_mods.clj")
    history = load_price_directory(PRICES_DIR, tickers_of(symphony.root))
    truth = _ground_truth()
    assert len(truth) == 242
    # When evaluated once over the whole history
    result = evaluate_history(symphony, history)
    # Then every recorded date has exactly Composer's allocation
    mismatches = []
    for day, expected in truth:
        got = result.weights_at(result.row_of(day))
        if got.keys() != expected.keys() or any(
            abs(got[t] - w) > 1e-9 for t, w in expected.items()
        ):
            mismatches.append((day, expected, got))
    assert mismatches == []
    # And the first valid day is Composer's first date (UVXY's first close)
    assert result.first_valid_day == truth[0][0] == date(2011, 10, 4)


@pytest.mark.parametrize("path", FULLY_COVERED, ids=lambda p: p.name)
def test_truncating_the_data_at_a_day_never_changes_that_days_allocation(path: Path) -> None:
    # Given a symphony fully covered by real data, evaluated over all of it
    symphony = load_symphony(path)
    program = compile_symphony(symphony)
    history = load_price_directory(PRICES_DIR, program.tickers)
    full = evaluate_history(program, history)
    # When the data is cut at each of 40 days spread over the valid range (plus its ends)
    rows = np.unique(np.linspace(full.start, len(history.dates) - 1, 40).astype(int))
    for row in rows:
        cut = evaluate_history(program, history.truncate(history.day(int(row))))
        # Then the last day of the cut data has bit-for-bit the same allocation
        assert np.array_equal(cut.weights[-1], full.weights[row]), (
            f"{path.name} on {history.dates[row]}"
        )
        assert cut.start == full.start


@pytest.mark.parametrize("path", sorted(SYMPHONIES_DIR.glob("*.clj")), ids=lambda p: p.name)
def test_weights_are_non_negative_and_sum_to_one_on_every_day_after_warm_up(path: Path) -> None:
    # Given every real symphony over real prices, with deterministic synthetic stand-ins
    # for the tickers the data lacks (the values do not matter for this property)
    program = compile_symphony(load_symphony(path))
    real = load_price_directory(PRICES_DIR)
    history = with_stand_ins(real, program.tickers, date(2012, 1, 3), date(2026, 8, 3))
    # When evaluated over every date
    result = evaluate_history(program, history)
    # Then warm-up rows hold nothing and every later row is a full, non-negative allocation
    assert result.start < len(history.dates)
    assert not result.weights[: result.start].any()
    after = result.weights[result.start :]
    assert (after >= 0).all()
    np.testing.assert_allclose(after.sum(axis=1), 1.0, atol=1e-9)

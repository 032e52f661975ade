"""The data check's trailing mean and deviation, in numpy, agree with pandas' rolling ones.

pandas is the reference here only: the check itself no longer imports it (start-up).
Real data: every ticker of the shared prices, NaNs before each ticker's first close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alchemiser.market.loader import load_price_directory
from alchemiser.market.moves import VOL_MIN_OBSERVATIONS, VOL_WINDOW, trailing_mean_std
from tests.conftest import PRICES_DIR


def pandas_reference(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rolling = pd.DataFrame(values).rolling(VOL_WINDOW, min_periods=VOL_MIN_OBSERVATIONS)
    return rolling.mean().shift(1).to_numpy(), rolling.std().shift(1).to_numpy()


def test_trailing_statistics_of_every_real_ticker_match_pandas() -> None:
    closes = load_price_directory(PRICES_DIR).closes
    returns = np.full(closes.shape, np.nan)
    returns[1:] = closes[1:] / closes[:-1] - 1.0
    mean, sigma = trailing_mean_std(returns, VOL_WINDOW, VOL_MIN_OBSERVATIONS)
    expected_mean, expected_sigma = pandas_reference(returns)
    np.testing.assert_array_equal(np.isnan(mean), np.isnan(expected_mean))
    np.testing.assert_array_equal(np.isnan(sigma), np.isnan(expected_sigma))
    np.testing.assert_allclose(mean, expected_mean, rtol=0, atol=1e-15)
    np.testing.assert_allclose(sigma, expected_sigma, rtol=1e-11)


def test_a_flat_window_has_no_deviation_and_a_short_one_no_figures() -> None:
    # Given a few moves, then prices that do not move for 90 days
    values = np.zeros((100, 1))
    values[:10, 0] = [np.nan, 0.01, -0.02, 0.03, np.nan, 0.0, 0.01, 0.0, 0.0, 0.0]
    mean, sigma = trailing_mean_std(values, VOL_WINDOW, VOL_MIN_OBSERVATIONS)
    expected_mean, expected_sigma = pandas_reference(values)
    assert sigma[99, 0] == expected_sigma[99, 0] == 0.0
    np.testing.assert_array_equal(np.isnan(sigma), np.isnan(expected_sigma))
    assert np.isnan(mean[:21, 0]).all()  # fewer than 20 values before row 21
    np.testing.assert_allclose(mean, expected_mean, rtol=0, atol=1e-15)

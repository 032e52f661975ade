"""Shared test fixtures: where the real data lives, and small price builders."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT.parent / "shared" / "data"
PRICES_DIR = DATA_DIR / "prices"
SYMPHONIES_DIR = DATA_DIR / "symphonies"
COMPOSER_DIR = DATA_DIR / "composer"


@pytest.fixture(scope="session")
def prices_dir() -> Path:
    if not PRICES_DIR.is_dir():
        pytest.fail(f"real price data is required at {PRICES_DIR}")
    return PRICES_DIR


@pytest.fixture(scope="session")
def symphonies_dir() -> Path:
    return SYMPHONIES_DIR


@pytest.fixture(scope="session")
def composer_dir() -> Path:
    return COMPOSER_DIR

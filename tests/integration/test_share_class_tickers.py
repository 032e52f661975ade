"""A production symphony that names ``BRK/B`` runs on a directory holding ``BRK.B.csv``.

The shared data has no Berkshire prices, nor most of the stocks ``vox_the_best.clj``
ranks: the directory built here holds the real closes of every ticker the shared data
has and deterministic SYNTHETIC stand-ins (``alchemiser.market.synthetic``) for the
others, BRK.B among them. The values of the stand-ins carry no meaning; what is tested
is that the share class is read, evaluated and named the way the user wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import boto3
import numpy as np
import pytest
from moto import mock_aws

from alchemiser.cli import main
from alchemiser.dsl.engine import evaluate_history
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import Program, compile_symphony
from alchemiser.market.loader import load_price_directory, save_price_directory
from alchemiser.market.s3_data import S3MarketData
from alchemiser.market.synthetic import synthetic_market, with_stand_ins
from tests.conftest import PRICES_DIR, SYMPHONIES_DIR

VOX = SYMPHONIES_DIR / "vox_the_best.clj"
START, END = date(2016, 1, 4), date(2026, 7, 31)


@pytest.fixture(scope="module")
def vox() -> Program:
    return compile_symphony(load_symphony(VOX))


@pytest.fixture(scope="module")
def vox_data(vox: Program, tmp_path_factory: pytest.TempPathFactory) -> Path:
    real = load_price_directory(PRICES_DIR)
    market = with_stand_ins(real, vox.tickers, START, END)
    directory = tmp_path_factory.mktemp("vox-prices")
    save_price_directory(market, directory)
    return directory


def test_vox_the_best_names_brk_b_as_composer_writes_it(vox: Program) -> None:
    assert "BRK.B" in vox.tickers
    assert vox.as_written(["BRK.B"]) == ["BRK/B"]


def test_vox_the_best_evaluates_on_a_directory_with_a_brk_b_csv(
    vox_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a price directory whose Berkshire file is BRK.B.csv
    assert (vox_data / "BRK.B.csv").is_file()

    # When today's allocation is asked for on the command line
    code = main(["eval", str(VOX), "--data", str(vox_data), "--date", str(END), "--json"])

    # Then it evaluates, with weights that sum to 1
    out = capsys.readouterr().out
    assert code == 0, out
    weights = json.loads(out)["weights"]
    assert sum(weights.values()) == pytest.approx(1.0)


def test_brk_b_is_held_on_the_days_its_filters_rank_it_first(vox: Program, vox_data: Path) -> None:
    # Given the same directory, When every day is evaluated
    history = evaluate_history(vox, load_price_directory(vox_data, vox.tickers))

    # Then the share class is a ticker of the allocations and is held on some days
    column = history.tickers.index("BRK.B")
    held = np.flatnonzero(history.weights[:, column] > 0)
    assert held.size > 0


def test_without_its_data_the_error_spells_brk_b_as_the_file_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["eval", str(VOX), "--data", str(PRICES_DIR)])
    err = capsys.readouterr().err
    assert code == 1
    assert "BRK/B" in err and "BRK.B" not in err


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket="prices-test")
        yield session


def test_an_s3_key_may_spell_the_share_class_with_an_underscore(
    s3: boto3.Session, tmp_path: Path
) -> None:
    # Given Berkshire's closes stored under prices/BRK_B.parquet (synthetic values)
    market = synthetic_market(["BRK.B"], date(2024, 1, 2), date(2024, 3, 1))
    [path] = save_price_directory(market, tmp_path, fmt="parquet")
    s3.client("s3").upload_file(str(path), "prices-test", "prices/BRK_B.parquet")

    # When the store is asked for BRK/B
    history = S3MarketData("prices-test", session=s3).history(["BRK/B"], date(2024, 3, 1))

    # Then it reads that object as the canonical symbol
    assert history.tickers == ("BRK.B",)
    assert np.array_equal(history.closes, market.closes)

"""A home per data source, and a home that knows what its account was opened with."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.local.homes import (
    BROKER_FILE,
    HomeError,
    default_home,
    open_home,
    read_record,
)

D = Decimal


def test_each_data_source_has_its_own_default_home(tmp_path: Path) -> None:
    (tmp_path / "a" / "prices").mkdir(parents=True)
    (tmp_path / "b" / "prices").mkdir(parents=True)
    demo = default_home(None)
    one, other = default_home(tmp_path / "a" / "prices"), default_home(tmp_path / "b" / "prices")
    assert demo == Path(".alchemiser/demo")
    assert one.parent == other.parent == Path(".alchemiser")
    assert one.name.startswith("prices-") and other.name.startswith("prices-")
    assert len({demo, one, other}) == 3
    # The same folder, however it is spelled, has the same home
    assert default_home(tmp_path / "a" / ".." / "a" / "prices") == one


def test_a_new_home_records_its_source_and_opening_cash(tmp_path: Path) -> None:
    home = tmp_path / "home"
    record = open_home(home, None, D(50000), D(100000))
    assert record.opening_cash == D(50000) and record.data_source == "synthetic"
    assert read_record(home) == record
    # Until the account exists, the next run may still choose another amount or source
    assert open_home(home, tmp_path, None, D(100000)).opening_cash == D(100000)


def test_an_existing_account_refuses_another_opening_cash_or_data_source(tmp_path: Path) -> None:
    # Given a home whose account was opened with $50,000 on the synthetic market
    home = tmp_path / "home"
    open_home(home, None, D(50000), D(100000))
    (home / BROKER_FILE).write_bytes(b"")
    # Then the same --cash, or none, runs on; another amount or data source is refused
    assert open_home(home, None, D(50000), D(100000)).opening_cash == D(50000)
    assert open_home(home, None, None, D(100000)).opening_cash == D(50000)
    with pytest.raises(HomeError, match=r"opened with \$50,000.00.*--home DIR"):
        open_home(home, None, D(60000), D(100000))
    with pytest.raises(HomeError, match=r"synthetic demo market, not the prices in .*--home DIR"):
        open_home(home, tmp_path, None, D(100000))


def test_a_file_or_a_broken_record_is_no_home(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(HomeError, match="is a file"):
        open_home(tmp_path / "file", None, None, D(1))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "home.json").write_text("{not json")
    with pytest.raises(HomeError, match="not a home record"):
        open_home(tmp_path / "home", None, None, D(1))

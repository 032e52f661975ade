"""`alchemiser report` says what is wrong instead of writing an empty dashboard."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.cli import main
from alchemiser.local.homes import open_home
from tests.conftest import PRICES_DIR


def test_a_home_without_an_account_is_refused_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--home", str(tmp_path / "nothing")]) == 1
    error = capsys.readouterr().err
    assert "no account here yet (no home.json): run `alchemiser run` with this home" in error


def test_a_home_without_a_reconciled_run_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    open_home(home, PRICES_DIR, None, Decimal(100_000))
    assert main(["report", "--home", str(home), "--stage", "dev"]) == 1
    assert "stage dev has no reconciled run yet: nothing to report" in capsys.readouterr().err
    assert not (home / "reports" / "site").exists()

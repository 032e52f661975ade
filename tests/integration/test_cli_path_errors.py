"""Every command answers a bad path with one line naming it and what was expected.

Never a raw ``[Errno 2] ...`` and never a traceback: a missing or wrong-kind data
directory, symphony, books file, output file or home, for each command that takes one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alchemiser.cli import main
from tests.conftest import COMPOSER_DIR, PRICES_DIR

SYMPHONY = COMPOSER_DIR / "tqqq_ftlt_mods.clj"
PRICES = "a directory of <TICKER>.csv or <TICKER>.parquet price files"
PATH_CASES = [
    (["eval", "{tmp}/missing.clj", "--data", str(PRICES_DIR)], "missing.clj: does not exist (expected a symphony .clj file)"),
    (["eval", "{tmp}", "--data", str(PRICES_DIR)], ": is a directory (expected a symphony .clj file)"),
    (["eval", str(SYMPHONY), "--data", "{tmp}/nodata"], f"nodata: does not exist (expected {PRICES})"),
    (["eval", str(SYMPHONY), "--data", "{tmp}/file.txt"], f"file.txt: is a file (expected {PRICES})"),
    (["backtest", "{tmp}/missing.clj", "--data", str(PRICES_DIR)], "missing.clj: does not exist"),
    (["backtest", str(SYMPHONY), "--data", str(PRICES_DIR), "--equity-out", "{tmp}/no/eq.csv"], "eq.csv: cannot be written: folder"),
    (["backtest", str(SYMPHONY), "--data", str(PRICES_DIR), "--allocations-out", "{tmp}"], "is a directory (expected a CSV file to write)"),
    (["validate", str(SYMPHONY), "--data", "{tmp}/nodata"], "nodata does not exist"),
    (["import-composer", "{tmp}/missing.json", "-o", "{tmp}/x.clj"], "missing.json: does not exist (expected a Composer"),
    (["import-composer", str(COMPOSER_DIR / "kmlm_switcher.composer.json"), "-o", "{tmp}/no/x.clj"], "x.clj: cannot be written: folder"),
    (["run", "--data", "{tmp}/nodata"], f"nodata: does not exist (expected {PRICES})"),
    (["run", "--books", "{tmp}/books.yaml"], "books.yaml: does not exist (expected a books.yaml file"),
    (["run", "--books", "{tmp}/file.txt"], "file.txt: is not a .yaml file"),
    (["run", "--home", "{tmp}/file.txt"], "file.txt: is a file (expected a home directory"),
    (["kill-switch", "on", "--reason", "x", "--home", "{tmp}/file.txt"], "file.txt: is a file (expected a home directory"),
    (["kill-switch", "status", "--data", "{tmp}/nodata"], "nodata: does not exist"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message"), PATH_CASES)
def test_a_bad_path_is_one_line_naming_it_and_what_was_expected(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a file where a directory is expected, and nothing where anything else is
    (tmp_path / "file.txt").write_text("not what anyone wants\n")
    # When the command runs with the bad path
    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err
    # Then it fails with one line that names the path and says what was expected
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert "Errno" not in err and "Traceback" not in err


def test_validate_names_each_unreadable_file_on_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", str(tmp_path / "missing.clj"), str(tmp_path), str(SYMPHONY)])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == [
        f"{tmp_path / 'missing.clj'}: does not exist (expected a symphony .clj file)",
        f"{tmp_path}: is a directory (expected a symphony .clj file)",
        "2 of 3 file(s) have errors",
    ]

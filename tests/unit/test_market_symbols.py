"""Share-class tickers: one canonical symbol whatever spelling a file, a user or a vendor uses."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alchemiser.dsl.parser import parse_text
from alchemiser.dsl.program import compile_symphony
from alchemiser.dsl.source import SymphonyError
from alchemiser.market.history import MissingTickersError
from alchemiser.market.loader import PriceFileError, load_price_directory
from alchemiser.market.symbols import (
    SymbolError,
    alpaca_symbol,
    canonical_or_none,
    canonical_symbol,
)


@pytest.mark.parametrize("written", ["BRK/B", "BRK.B", "BRK-B", "BRK_B", " brk/b ", "Brk.b"])
def test_every_usual_spelling_of_a_share_class_is_one_symbol(written: str) -> None:
    assert canonical_symbol(written) == "BRK.B"


@pytest.mark.parametrize("plain", ["SPY", "spy", "UVXY", "3033", "A"])
def test_plain_tickers_are_their_own_canonical_symbol(plain: str) -> None:
    assert canonical_symbol(plain) == plain.upper()


@pytest.mark.parametrize(
    "text", ["", "BRK//B", "/BRK", "BRK.", "CRYPTO::BTC//USD", "BRK B", "SPY$", "ABCDEFGHIJKLMNOP"]
)
def test_text_that_is_no_symbol_is_refused_with_what_was_expected(text: str) -> None:
    assert canonical_or_none(text) is None
    with pytest.raises(SymbolError, match=r'expected a ticker symbol such as "SPY" or "BRK/B"'):
        canonical_symbol(text)


def test_alpaca_spells_a_share_class_with_a_dot() -> None:
    assert alpaca_symbol("BRK/B") == "BRK.B"
    assert alpaca_symbol("SPY") == "SPY"


@pytest.mark.parametrize("written", ["BRK/B", "BRK.B", "BRK-B", "BRK_B"])
def test_the_parser_reads_any_spelling_and_remembers_the_written_one(written: str) -> None:
    # Given a symphony naming the share class in one of its spellings
    text = f'(defsymphony "b" {{}} (if (> (rsi "{written}" {{:window 3}}) 50) [(asset "{written}")] [(asset "SPY")]))'

    # When it is parsed and compiled
    program = compile_symphony(parse_text(text))

    # Then it reads the canonical symbol, and keeps the written spelling for messages
    assert program.tickers == ("BRK.B", "SPY")
    assert program.as_written(["BRK.B", "SPY"]) == [written, "SPY"]


def test_a_malformed_ticker_is_a_parse_error_at_its_place() -> None:
    with pytest.raises(SymphonyError, match=r'b:1:21: expected a ticker symbol .* found "BRK//B"'):
        parse_text('(defsymphony "x" {} (asset "BRK//B"))', "b")


def write_closes(path: Path, closes: list[float]) -> None:
    days = pd.bdate_range("2024-01-02", periods=len(closes))
    pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), "Adj Close": closes}).to_csv(path, index=False)


@pytest.mark.parametrize("name", ["BRK.B.csv", "BRK_B.csv", "BRK-B.csv", "brk_b.csv"])
def test_a_price_file_may_use_any_usual_spelling(tmp_path: Path, name: str) -> None:
    # Given one file of the share class, under one of its spellings
    write_closes(tmp_path / name, [400.0, 401.0, 402.0])

    # When the directory is read for the symbol as Composer writes it
    history = load_price_directory(tmp_path, ["BRK/B"])

    # Then its closes are those of the canonical symbol
    assert history.tickers == ("BRK.B",)
    assert history.column("BRK.B").tolist() == [400.0, 401.0, 402.0]


def test_two_files_for_one_share_class_are_refused(tmp_path: Path) -> None:
    write_closes(tmp_path / "BRK.B.csv", [400.0])
    write_closes(tmp_path / "BRK_B.csv", [400.0])
    with pytest.raises(PriceFileError, match=r"ticker BRK\.B also has .*expected one file"):
        load_price_directory(tmp_path)


def test_a_missing_share_class_is_named_as_the_user_wrote_it(tmp_path: Path) -> None:
    # Given a directory without the share class and a symphony that spells it BRK/B
    write_closes(tmp_path / "SPY.csv", [400.0])
    program = compile_symphony(parse_text('(defsymphony "x" {} (asset "BRK/B"))'))

    # When its data is loaded, Then the error names the ticker in the user's spelling
    with pytest.raises(MissingTickersError) as caught:
        load_price_directory(tmp_path, program.tickers)
    error = caught.value.spelled(program.spellings)
    assert error.missing == ("BRK.B",)
    assert str(error) == f"no price data in {tmp_path} for 1 ticker(s): BRK/B"

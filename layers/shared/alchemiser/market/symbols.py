"""One spelling per security, whatever spelling a user, a file or a vendor writes.

A share class is written ``BRK/B`` by Composer, ``BRK.B`` by Alpaca, and ``BRK-B`` or
``BRK_B`` in file names (``/`` cannot appear in one). Inside the system every security
has one canonical symbol: upper case, its parts joined by ``.`` (``BRK.B``), which is
also Alpaca's spelling, so orders and market data requests need no translation today;
``alpaca_symbol`` is still the one place that says what Alpaca expects.

A symbol is one or more parts of letters and digits joined by single separators, at
most ``SYMBOL_MAX`` characters: ``SPY``, ``BRK/B``, ``BF-B``. ``CRYPTO::BTC//USD`` is not
one.
"""

from __future__ import annotations

import functools
import re
from typing import Final

SYMBOL_MAX: Final = 15
SEPARATORS: Final = "./-_"
CANONICAL_SEPARATOR: Final = "."
_SYMBOL: Final = re.compile(r"[A-Z0-9]+(?:[./_\-][A-Z0-9]+)*")
_SEPARATOR: Final = re.compile(r"[./_\-]")


class SymbolError(ValueError):
    """Raised for text that is not a ticker symbol in any usual spelling."""


def canonical_symbol(text: str) -> str:
    """Return the canonical spelling of ``text`` (``brk/b`` -> ``BRK.B``); raise SymbolError."""
    found = canonical_or_none(text)
    if found is None:
        raise SymbolError(
            f'expected a ticker symbol such as "SPY" or "BRK/B" (letters and digits, parts '
            f"joined by one of {' '.join(SEPARATORS)}, at most {SYMBOL_MAX} characters), "
            f"found {text!r}"
        )
    return found


@functools.lru_cache(maxsize=8192)
def canonical_or_none(text: str) -> str | None:
    """Return the canonical spelling of ``text``, or None when it is not a symbol."""
    upper = text.strip().upper()
    if len(upper) > SYMBOL_MAX or not _SYMBOL.fullmatch(upper):
        return None
    return _SEPARATOR.sub(CANONICAL_SEPARATOR, upper)


def alpaca_symbol(symbol: str) -> str:
    """Return the spelling Alpaca's trading and market data APIs use (``BRK.B``)."""
    return canonical_symbol(symbol)

"""Read symphony text into forms: lists, vectors, maps and atoms.

The reader is iterative (an explicit stack, no recursion per nesting level) so a
file nested hundreds of levels deep reads as easily as a flat one. Besides the
root forms it returns every compound form in *closing order* (children before
parents), which lets the parser build the tree bottom-up without recursion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from alchemiser.dsl.source import SourceFile, SymphonyError


class Symbol(str):
    """A bare symbol such as ``weight-equal``, ``>`` or ``nil``."""

    __slots__ = ()


class Keyword(str):
    """A keyword such as ``:window`` (stored without the colon)."""

    __slots__ = ()


Atom = str | int | float | Symbol | Keyword


@dataclass(eq=False, slots=True)
class Form:
    """A compound form: ``(...)`` list, ``[...]`` vector or ``{...}`` map."""

    kind: str  # "list" | "vector" | "map"
    offset: int
    items: list[Form | Atom] = field(default_factory=list)
    built: object = None  # the parser's result for this form

    @property
    def head(self) -> str | None:
        """Return the operator symbol of a list form, if it starts with one."""
        if self.kind == "list" and self.items and isinstance(self.items[0], Symbol):
            return str(self.items[0])
        return None


_CLOSERS: Final = {"(": ")", "[": "]", "{": "}"}
_KINDS: Final = {"(": "list", "[": "vector", "{": "map"}
_DELIMS: Final = r"\s,()\[\]{}\";"
# One token per match, leading whitespace/commas/comments skipped by the same match.
_TOKEN: Final = re.compile(
    rf"(?:[\s,]+|;[^\n]*)*(?:"
    rf'(?P<s>"(?:[^"\\]|\\.)*")'
    rf"|(?P<o>[(\[{{])"
    rf"|(?P<c>[)\]}}])"
    rf"|(?P<a>[^{_DELIMS}]+)"
    rf"|(?P<u>\")"
    rf"|(?P<e>$)"
    rf")",
    re.DOTALL,
)
_NUMBER: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INT: Final = re.compile(r"[+-]?\d+")
_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE_RE: Final = re.compile(r"\\(.)", re.DOTALL)


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def _atom(text: str) -> Atom:
    first = text[0]
    if (first.isdigit() or first in "+-.") and _NUMBER.fullmatch(text):
        return int(text) if _INT.fullmatch(text) else float(text)
    if first == ":" and len(text) > 1:
        return Keyword(text[1:])
    return Symbol(text)


@dataclass(frozen=True)
class ReadResult:
    """The forms of a file: top-level forms, and all compound forms in closing order."""

    forms: list[Form | Atom]
    closing_order: list[Form]


def read_forms(source: SourceFile) -> ReadResult:
    """Read every form in ``source``; raise SymphonyError at the first syntax error."""
    text = source.text
    top: list[Form | Atom] = []
    stack: list[Form] = []
    closed: list[Form] = []
    items = top
    pos = 0
    match = _TOKEN.match
    while True:
        m = match(text, pos)
        if m is None:  # pragma: no cover - the pattern always matches (it has $ and ")
            raise SymphonyError.at(source, pos, "unreadable input")
        kind = m.lastgroup
        start = m.start(kind) if kind else pos
        pos = m.end()
        if kind == "a":
            items.append(_atom(m.group("a")))
        elif kind == "o":
            form = Form(_KINDS[m.group("o")], start)
            items.append(form)
            stack.append(form)
            items = form.items
        elif kind == "c":
            closer = m.group("c")
            if not stack:
                raise SymphonyError.at(source, start, f"unexpected '{closer}' with nothing open")
            form = stack.pop()
            expected = _CLOSERS[text[form.offset]]
            if closer != expected:
                opened = source.where(form.offset)
                raise SymphonyError.at(
                    source,
                    start,
                    f"expected '{expected}' to close the form opened at {opened}, found '{closer}'",
                )
            if form.kind == "map" and len(form.items) % 2:
                raise SymphonyError.at(
                    source, form.offset, "expected a key and a value for every entry of a map"
                )
            closed.append(form)
            items = stack[-1].items if stack else top
        elif kind == "s":
            items.append(_unescape(m.group("s")[1:-1]))
        elif kind == "u":
            raise SymphonyError.at(source, start, "expected a closing '\"' for this string")
        else:  # end of input
            if stack:
                form = stack[-1]
                raise SymphonyError.at(
                    source,
                    form.offset,
                    f"expected '{_CLOSERS[text[form.offset]]}' to close this form before the end of the file",
                )
            return ReadResult(top, closed)

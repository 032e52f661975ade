"""Source text of a symphony and the errors that point into it."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SourceFile:
    """The text of one symphony file; turns character offsets into line:column."""

    name: str
    text: str
    _line_starts: list[int] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def read(cls, path: str | Path) -> SourceFile:
        """Read a file as UTF-8 (a byte-order mark is ignored)."""
        p = Path(path)
        return cls(name=p.name, text=p.read_text(encoding="utf-8-sig"))

    def position(self, offset: int) -> tuple[int, int]:
        """Return the 1-based (line, column) of a character offset."""
        if not self._line_starts:
            starts = [0]
            find = self.text.find
            i = find("\n")
            while i != -1:
                starts.append(i + 1)
                i = find("\n", i + 1)
            self._line_starts.extend(starts)
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def where(self, offset: int) -> str:
        """Return ``name:line:column`` for an offset."""
        line, col = self.position(offset)
        return f"{self.name}:{line}:{col}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a symphony, located in its source."""

    source: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}: {self.message}"


class SymphonyError(ValueError):
    """A symphony that cannot be read or evaluated; carries every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        if not diagnostics:
            raise ValueError("SymphonyError needs at least one diagnostic")
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(str(d) for d in diagnostics))

    @classmethod
    def at(cls, source: SourceFile, offset: int, message: str) -> SymphonyError:
        line, col = source.position(offset)
        return cls([Diagnostic(source.name, line, col, message)])

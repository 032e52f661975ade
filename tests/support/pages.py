"""Read back what a written page holds: its tables (cell text) and its chart figures."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any


@dataclass
class PageContent:
    title: str = ""
    tables: dict[str, list[list[str]]] = field(default_factory=dict)
    figures: list[dict[str, Any]] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self, title: str) -> dict[str, list[str]]:
        """Return a table's rows keyed by their first cell (the header row under '')."""
        rows = self.tables[title]
        return {"": rows[0][1:], **{row[0]: row[1:] for row in rows[1:]}}


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.content = PageContent()
        self._heading = ""
        self._in: str | None = None
        self._text: list[str] = []
        self._row: list[str] | None = None
        self._figure = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("h1", "h2", "th", "td", "li"):
            self._in, self._text = tag, []
        elif tag == "tr":
            self._row = []
        elif tag == "table":
            self.content.tables[self._heading] = []
        elif tag == "script":
            self._figure = values.get("type") == "application/json"
            if values.get("src"):
                self.content.scripts.append(values["src"] or "")
            self._text = []
        elif tag == "a" and values.get("href"):
            self.content.links.append(values["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        text = "".join(self._text).strip()
        if tag == "h1" and self._in == "h1":
            self.content.title = text
        elif tag == "h2" and self._in == "h2":
            self._heading = text
        elif tag == "li" and self._in == "li":
            self.content.notes.append(text)
        elif tag in ("th", "td") and self._row is not None:
            self._row.append(text)
        elif tag == "tr" and self._row is not None:
            self.content.tables[self._heading].append(self._row)
            self._row = None
        elif tag == "script" and self._figure:
            self.content.figures.append(json.loads(text))  # JSON reads "<\/" as "</"
            self._figure = False
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)


def read_page(path: Path) -> PageContent:
    """Parse a page written by alchemiser.analytics.site."""
    reader = _Reader()
    reader.feed(path.read_text(encoding="utf-8"))
    return reader.content

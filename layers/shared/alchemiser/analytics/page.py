"""What a page of the site shows: titled tables and charts, as plain data.

A page is built where the numbers are (numpy, the ledger, a backtest) and rendered
where the site is written (:mod:`alchemiser.analytics.site`). Both this module and
the renderer use the standard library only, and a page travels as JSON
(``Page.to_dict`` / ``Page.from_dict``), so a step without numpy or pandas can render
pages that another step computed.

A chart's ``figure`` is a Plotly figure as JSON (``{"data": [...], "layout": {...}}``),
drawn in the browser by plotly.js; a table's cells are already formatted text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class Link:
    """A table cell that links to another page of the site (``href`` is relative)."""

    text: str
    href: str


Cell = str | Link


@dataclass(frozen=True)
class Table:
    """A table of formatted cells; columns from ``numeric_from`` on hold numbers."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    numeric_from: int = 1

    def __post_init__(self) -> None:
        for number, row in enumerate(self.rows, start=1):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.title!r}: row {number} has {len(row)} cells, expected "
                    f"{len(self.columns)} ({', '.join(self.columns)})"
                )


@dataclass(frozen=True)
class Chart:
    """A Plotly figure (``data`` and ``layout``) with a title and an optional note."""

    title: str
    figure: Mapping[str, Any]
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.figure.get("data"), list):
            raise ValueError(f"chart {self.title!r}: the figure needs a 'data' list of traces")


@dataclass(frozen=True)
class Text:
    """Preformatted text (a decision trace): shown as written, wrapped at narrow widths."""

    title: str
    text: str
    note: str = ""
    anchor: str = ""  # the section's id, for links to it (``page.html#anchor``)


Block = Table | Chart | Text


@dataclass(frozen=True)
class Page:
    """One HTML page: ``slug`` names its file (``<slug>.html``)."""

    slug: str
    title: str
    subtitle: str
    blocks: tuple[Block, ...]
    notes: tuple[str, ...] = ()
    # Headline figures (label, formatted value) shown for this page on the index.
    summary: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if not _SLUG.match(self.slug):
            raise ValueError(
                f"page slug must be lower-case letters, digits, '.', '_' or '-' "
                f"(it names the file), was {self.slug!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the page as JSON-compatible data."""
        return {
            "slug": self.slug,
            "title": self.title,
            "subtitle": self.subtitle,
            "notes": list(self.notes),
            "summary": [list(item) for item in self.summary],
            "blocks": [_block_dict(block) for block in self.blocks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Page:
        """Rebuild a page from ``to_dict`` output."""
        return cls(
            slug=data["slug"],
            title=data["title"],
            subtitle=data["subtitle"],
            notes=tuple(data["notes"]),
            summary=tuple((str(label), str(value)) for label, value in data["summary"]),
            blocks=tuple(_block_from_dict(block) for block in data["blocks"]),
        )


def _block_dict(block: Block) -> dict[str, Any]:
    if isinstance(block, Table):
        return {
            "kind": "table",
            "title": block.title,
            "columns": list(block.columns),
            "rows": [[_cell_dict(cell) for cell in row] for row in block.rows],
            "note": block.note,
            "numeric_from": block.numeric_from,
        }
    if isinstance(block, Text):
        return {
            "kind": "text",
            "title": block.title,
            "text": block.text,
            "note": block.note,
            "anchor": block.anchor,
        }
    return {"kind": "chart", "title": block.title, "figure": block.figure, "note": block.note}


def _cell_dict(cell: Cell) -> str | dict[str, str]:
    return cell if isinstance(cell, str) else {"text": cell.text, "href": cell.href}


def _cell_from_dict(data: str | Mapping[str, str]) -> Cell:
    return data if isinstance(data, str) else Link(data["text"], data["href"])


def _block_from_dict(data: Mapping[str, Any]) -> Block:
    kind = data.get("kind")
    if kind == "table":
        return Table(
            title=data["title"],
            columns=tuple(data["columns"]),
            rows=tuple(tuple(_cell_from_dict(cell) for cell in row) for row in data["rows"]),
            note=data["note"],
            numeric_from=int(data["numeric_from"]),
        )
    if kind == "chart":
        return Chart(title=data["title"], figure=data["figure"], note=data["note"])
    if kind == "text":
        return Text(
            title=data["title"], text=data["text"], note=data["note"], anchor=data["anchor"]
        )
    raise ValueError(f"a page block is a 'table', a 'chart' or a 'text', found kind {kind!r}")


def slugify(name: str, taken: Sequence[str] = ()) -> str:
    """Return a file-safe slug for ``name``, distinct from every slug in ``taken``."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "page"
    slug, number = base, 2
    while slug in taken or slug == "index":
        slug, number = f"{base}-{number}", number + 1
    return slug

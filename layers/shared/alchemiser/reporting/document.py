"""A small report document, its two renderings (escaped HTML, plain text) and value formats.

A report is a title, alert lines (shown loudly at the top), a block of facts and a list
of sections, each holding lines and/or a table of strings. Everything is rendered from
this one structure, so the plain-text part of an email mirrors its HTML part, and every
value is escaped on its way into HTML (no markup is ever taken from the data).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

NONE = "-"  # an empty value
# Wider tables are written as one block per row in the text rendering.
TEXT_TABLE_MAX_WIDTH = 100

_CSS = (
    "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2328;"
    "margin:24px}table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid "
    "#d0d7de;padding:4px 8px;text-align:left;vertical-align:top;font-size:14px}"
    "th{background:#f6f8fa}.alert{background:#fff1f0;border:2px solid #cf222e;color:#82071e;"
    "font-weight:bold;padding:8px 12px;margin:8px 0}.loud{color:#cf222e;font-weight:bold}"
    "td,th{overflow-wrap:anywhere}"
    # On a phone (390 px) a table of several columns becomes one card per row, each cell
    # labelled with its column (data-label), so no column is cut off or scrolled away.
    "@media (max-width:600px){body{margin:8px}*{box-sizing:border-box}"
    "table.rows,table.rows tbody,table.rows tr,table.rows td{display:block;width:100%}"
    "table.rows thead{position:absolute;width:1px;height:1px;overflow:hidden;"
    "clip:rect(0 0 0 0)}table.rows tr{border:1px solid #d0d7de;margin-bottom:8px}"
    "table.rows td{border:none;display:flex;justify-content:space-between;gap:12px;"
    "text-align:right}table.rows td::before{content:attr(data-label);font-weight:bold;"
    "text-align:left;white-space:nowrap;flex-shrink:0}}"
)


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    loud: frozenset[str] = frozenset()  # cell values to highlight (e.g. "FAILED")

    def __post_init__(self) -> None:
        wrong = [row for row in self.rows if len(row) != len(self.headers)]
        if wrong:
            raise ValueError(
                f"every row must have {len(self.headers)} cells (one per header), "
                f"found {len(wrong[0])} in {wrong[0]!r}"
            )


@dataclass(frozen=True)
class Section:
    title: str
    lines: Sequence[str] = field(default_factory=tuple)
    table: Table | None = None


@dataclass(frozen=True)
class Document:
    title: str
    alerts: Sequence[str]
    facts: Sequence[tuple[str, str]]
    sections: Sequence[Section]


def render_html(document: Document) -> str:
    """Render a standalone HTML page (inline CSS, so it also reads well as an email part)."""
    e = _escape
    parts = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(document.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(document.title)}</h1>",
        *(f'<div class="alert">{e(alert)}</div>' for alert in document.alerts),
        '<table class="facts">',
        *(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in document.facts),
        "</table>",
    ]
    for section in document.sections:
        parts.append(f"<h2>{e(section.title)}</h2>")
        if section.lines:
            items = "".join(f"<li>{e(line)}</li>" for line in section.lines)
            parts.append(f"<ul>{items}</ul>")
        if section.table is not None:
            parts.append(_html_table(section.table))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def render_text(document: Document) -> str:
    """Render the same document as plain text (tables aligned, or one block per row)."""
    lines = [document.title, "=" * len(document.title), ""]
    lines += [f"!! {alert}" for alert in document.alerts]
    lines += [""] if document.alerts else []
    width = max((len(k) for k, _ in document.facts), default=0) + 1
    lines += [f"{k + ':':<{width}} {v}" for k, v in document.facts]
    for section in document.sections:
        lines += ["", section.title, "-" * len(section.title)]
        lines += [f"- {line}" for line in section.lines]
        if section.table is not None:
            lines += _text_table(section.table)
    return "\n".join(lines) + "\n"


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{_escape(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>"
        + "".join(
            _html_cell(cell, header, table.loud)
            for cell, header in zip(row, table.headers, strict=True)
        )
        + "</tr>"
        for row in table.rows
    )
    return f'<table class="rows"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _html_cell(cell: str, header: str, loud: frozenset[str]) -> str:
    marked = ' class="loud"' if cell in loud else ""
    return f'<td data-label="{_escape(header)}"{marked}>{_escape(cell)}</td>'


def _escape(value: str) -> str:
    return html.escape(value, quote=True)


def _text_table(table: Table) -> list[str]:
    columns = zip(table.headers, *table.rows, strict=True)
    widths = [max(len(cell) for cell in column) for column in columns]
    if sum(widths) + 2 * (len(widths) - 1) <= TEXT_TABLE_MAX_WIDTH:
        return [_text_row(row, widths) for row in [table.headers, *table.rows]]
    blocks: list[str] = []
    for row in table.rows:
        blocks.append(f"* {row[0]}")
        blocks += [f"    {h}: {v}" for h, v in zip(table.headers[1:], row[1:], strict=True)]
    return blocks


def _text_row(row: Iterable[str], widths: Sequence[int]) -> str:
    cells = zip(row, widths, strict=True)
    return "  ".join(f"{cell:<{width}}" for cell, width in cells).rstrip()


# -- values ----------------------------------------------------------------------------


def money(value: Decimal) -> str:
    """Format dollars with cents and thousands separators (``-$1,234.50``)."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def signed_money(value: Decimal) -> str:
    """Format a P&L, always signed (``+$12.00``, ``-$3.10``)."""
    return money(value) if value < 0 else f"+{money(value)}"


def quantity(value: Decimal) -> str:
    """Format a share quantity without trailing zeros or an exponent (``12.5``, ``10``)."""
    return f"{value.normalize():f}" if value else "0"


def weights(target: Mapping[str, Decimal]) -> str:
    """Format target weights as percentages, largest first (``SPY 60.0%, TLT 40.0%``)."""
    ordered = sorted(target.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{symbol} {weight * 100:.1f}%" for symbol, weight in ordered) or NONE


def positions(held: Mapping[str, Decimal]) -> str:
    """Format positions as ``SYMBOL qty`` pairs, alphabetically."""
    return ", ".join(f"{symbol} {quantity(qty)}" for symbol, qty in sorted(held.items())) or NONE

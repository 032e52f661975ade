"""Write pages as static HTML that reads offline, at phone width and on a desktop.

A site is a directory: ``index.html``, one ``<slug>.html`` per page, and the chart
library once, in ``assets/`` (plotly.js, referenced relatively by every page, so
nothing is fetched from the internet when a page opens). A page whose script cannot
load still shows every table and says which file its charts need.

Tables with more than four columns turn into one card per row on narrow screens (each
cell labelled with its column), so no column is ever cut off at 390 px.

Only the standard library is used here; plotly.js is the file the ``plotly`` package
ships (found without importing the package), or any copy named by the caller.
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import json
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from alchemiser.analytics.page import Cell, Chart, Link, Page, Table, Text
from alchemiser.analytics.site_style import PAGE_CSS

ASSETS_DIR = "assets"
STACKED_TABLE_COLUMNS = 5
DEFAULT_CHART_HEIGHT = 320
CHART_LIBRARY_VARIABLE = "ALCHEMISER_CHART_LIBRARY"
PLOTLY_CONFIG = {"responsive": True, "displaylogo": False}
_PLOTLY_VERSION = re.compile(rb"plotly\.js v(\d+\.\d+\.\d+)")

# How a page names another file of its site: relative paths by default; a site served
# from a private bucket passes a function that signs each one (``alchemiser.analytics.publish``).
Resolve = Callable[[str], str]


def relative_link(href: str) -> str:
    """Return ``href`` as it is: a relative link between the files of a site."""
    return href


class ChartLibraryMissingError(FileNotFoundError):
    """Raised when plotly.js cannot be found to write next to the pages."""


@dataclass(frozen=True)
class SiteFiles:
    """What a write produced: the index (for a site), the pages and the chart library."""

    index: Path | None
    pages: tuple[Path, ...]
    chart_library: Path


def chart_library_source() -> Path:
    """Return the plotly.min.js that the installed ``plotly`` package ships.

    ``ALCHEMISER_CHART_LIBRARY`` names the file instead where the package is not
    installed (the Notify function: its layer carries only that file).
    """
    named = os.environ.get(CHART_LIBRARY_VARIABLE)
    if named:
        if not Path(named).is_file():
            raise ChartLibraryMissingError(f"{CHART_LIBRARY_VARIABLE}={named}: no such file")
        return Path(named)
    spec = importlib.util.find_spec("plotly")
    locations = [] if spec is None else list(spec.submodule_search_locations or [])
    for location in locations:
        candidate = Path(location) / "package_data" / "plotly.min.js"
        if candidate.is_file():
            return candidate
    raise ChartLibraryMissingError(
        "plotly.js was not found: expected plotly/package_data/plotly.min.js from the "
        "'plotly' package (pip install plotly)"
    )


def install_chart_library(directory: Path, source: Path | None = None) -> Path:
    """Copy plotly.js into ``directory/assets`` once (named by its version); return it."""
    source = source or chart_library_source()
    content = source.read_bytes()
    found = _PLOTLY_VERSION.search(content[:400])
    version = found.group(1).decode() if found else hashlib.sha256(content).hexdigest()[:12]
    target = directory / ASSETS_DIR / f"plotly-{version}.min.js"
    if not (target.is_file() and target.stat().st_size == len(content)):
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, content)
    return target


def write_page(
    page: Page, path: Path, *, chart_library: Path | None = None, index_href: str | None = None
) -> SiteFiles:
    """Write one page to ``path`` and the chart library next to it (in ``assets/``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    library = install_chart_library(path.parent, chart_library)
    script = library.relative_to(path.parent).as_posix()
    _write_atomically(path, render_page(page, script, index_href=index_href).encode())
    return SiteFiles(index=None, pages=(path,), chart_library=library)


def write_site(
    directory: Path,
    pages: Sequence[Page],
    *,
    title: str,
    subtitle: str = "",
    chart_library: Path | None = None,
    index_name: str = "index.html",
    listed: Sequence[Page] | None = None,
    resolve: Resolve = relative_link,
) -> SiteFiles:
    """Write the index (``index_name``) listing ``pages``, every page, and the chart library once.

    ``listed`` limits the index to those pages (the others are reached through their
    links); ``resolve`` turns each relative link into the one written in the page.
    """
    slugs = [page.slug for page in pages]
    duplicates = sorted(
        {slug for slug in slugs if slugs.count(slug) > 1 or f"{slug}.html" == index_name}
    )
    if duplicates:
        raise ValueError(
            f"page slugs must be unique and not name the index {index_name}, found {duplicates}"
        )
    directory.mkdir(parents=True, exist_ok=True)
    library = install_chart_library(directory, chart_library)
    script = library.relative_to(directory).as_posix()
    written = []
    for page in pages:
        path = directory / f"{page.slug}.html"
        html_text = render_page(page, script, index_href=index_name, resolve=resolve)
        _write_atomically(path, html_text.encode())
        written.append(path)
    index = directory / index_name
    front = index_page(pages if listed is None else listed, title, subtitle)
    _write_atomically(index, render_page(front, script, resolve=resolve).encode())
    return SiteFiles(index=index, pages=tuple(written), chart_library=library)


def index_page(pages: Sequence[Page], title: str, subtitle: str) -> Page:
    """Return the index: one row per page with its headline figures, linked."""
    labels: list[str] = []
    for page in pages:
        labels.extend(label for label, _ in page.summary if label not in labels)
    rows: list[tuple[Cell, ...]] = []
    for page in pages:
        values = dict(page.summary)
        link = Link(page.title, f"{page.slug}.html")
        rows.append((link, *(values.get(label, "—") for label in labels)))
    table = Table(title="Pages", columns=("Page", *labels), rows=tuple(rows))
    return Page(slug="index", title=title, subtitle=subtitle, blocks=(table,))


def render_page(
    page: Page,
    chart_script: str,
    *,
    index_href: str | None = None,
    resolve: Resolve = relative_link,
) -> str:
    """Return the page's HTML; ``chart_script`` is plotly.js' path relative to the page."""
    nav = ""
    if index_href is not None:
        nav = f'<nav><a href="{html.escape(resolve(index_href))}">&larr; All pages</a></nav>'
    body = []
    for number, block in enumerate(page.blocks, start=1):
        if isinstance(block, Chart):
            body.append(_render_chart(block, number))
        elif isinstance(block, Text):
            body.append(_render_text(block))
        else:
            body.append(_render_table(block, resolve))
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in page.notes)
    notes_html = f'<section class="notes"><h2>Notes</h2><ul>{notes}</ul></section>' if notes else ""
    library = html.escape(resolve(chart_script))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(page.title)}</title>
<style>{PAGE_CSS}</style>
</head>
<body>
<header>{nav}<h1>{html.escape(page.title)}</h1><p class="subtitle">{html.escape(page.subtitle)}</p></header>
<main>
{"".join(body)}
{notes_html}
</main>
<footer>The Alchemiser</footer>
{_chart_scripts(library) if any(isinstance(b, Chart) for b in page.blocks) else ""}
</body>
</html>
"""


def _cell(cell: Cell, resolve: Resolve) -> str:
    if isinstance(cell, Link):
        return f'<a href="{html.escape(resolve(cell.href))}">{html.escape(cell.text)}</a>'
    return html.escape(cell)


def _render_text(block: Text) -> str:
    note = f'<p class="note">{html.escape(block.note)}</p>' if block.note else ""
    anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
    return (
        f'<section class="block wide"{anchor}><h2>{html.escape(block.title)}</h2>'
        f'<pre class="text">{html.escape(block.text)}</pre>{note}</section>\n'
    )


def _render_table(table: Table, resolve: Resolve = relative_link) -> str:
    stacked = " stacked" if len(table.columns) >= STACKED_TABLE_COLUMNS else ""
    head = "".join(
        f'<th scope="col"{_numeric(j, table)}>{html.escape(name)}</th>'
        for j, name in enumerate(table.columns)
    )
    rows = []
    for row in table.rows:
        cells = "".join(
            f'<td data-label="{html.escape(table.columns[j])}"{_numeric(j, table)}>{_cell(value, resolve)}</td>'
            for j, value in enumerate(row)
        )
        rows.append(f"<tr>{cells}</tr>")
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (
        f'<section class="block"><h2>{html.escape(table.title)}</h2>'
        f'<table class="figures{stacked}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{note}</section>\n"
    )


def _numeric(column: int, table: Table) -> str:
    return ' class="num"' if column >= table.numeric_from else ""


def _render_chart(chart: Chart, number: int) -> str:
    # "</" inside a script element would end it early: JSON allows "<\/" for it.
    figure = json.dumps(chart.figure, separators=(",", ":"), allow_nan=False)
    figure = figure.replace("</", "<\\/")
    note = f'<p class="note">{html.escape(chart.note)}</p>' if chart.note else ""
    height = chart.figure.get("layout", {}).get("height", DEFAULT_CHART_HEIGHT)
    return (
        f'<section class="block"><h2>{html.escape(chart.title)}</h2>'
        f'<div class="chart" id="chart-{number}" data-figure="figure-{number}" role="img" '
        f'aria-label="{html.escape(chart.title)}" style="min-height:{int(height)}px"></div>'
        f'<script type="application/json" id="figure-{number}">{figure}</script>{note}</section>\n'
    )


def _chart_scripts(library: str) -> str:
    config = json.dumps(PLOTLY_CONFIG)
    return f"""<script src="{library}"></script>
<script>
(function () {{
  var charts = document.querySelectorAll("div.chart");
  if (typeof Plotly === "undefined") {{
    charts.forEach(function (div) {{
      div.classList.add("missing");
      div.textContent = "This chart needs {library} next to this page; the tables are complete.";
    }});
    return;
  }}
  // On a phone a drag should scroll the page, not zoom the chart.
  var narrow = window.matchMedia("(max-width: 600px)").matches;
  charts.forEach(function (div) {{
    var figure = JSON.parse(document.getElementById(div.dataset.figure).textContent);
    if (narrow) {{ figure.layout.dragmode = false; }}
    Plotly.newPlot(div, figure.data, figure.layout, {config});
  }});
}})();
</script>"""


def _write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` so a reader sees the old file or the new one, never half of it."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a site is for reading
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

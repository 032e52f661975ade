"""Open pages in headless Chromium and list what a person would find wrong with them.

Debian's Chromium (``/usr/bin/chromium``, or ``$ALCHEMISER_CHROMIUM``) is driven by
playwright over the DevTools protocol; playwright's own browser downloads are never
used. The network is closed: every request that is not a local file is refused and
reported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, ConsoleMessage, Route, sync_playwright

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
DRAW_TIMEOUT_MS = 20_000

# Every chart is drawn (or says why not) at the current width of its box.
_DRAWN = """() => [...document.querySelectorAll("div.chart")].every((chart) => {
  if (chart.classList.contains("missing")) { return true; }
  const svg = chart.querySelector("svg.main-svg");
  return svg !== null && Math.abs(Number(svg.getAttribute("width")) - chart.clientWidth) <= 1;
})"""

_INSPECT = """() => {
  const problems = [];
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth > width + 1) {
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px in ${width}`);
  }
  document.querySelectorAll("div.chart").forEach((chart) => {
    const svg = chart.querySelector("svg.main-svg");
    const box = svg ? svg.getBoundingClientRect() : null;
    // What plotly draws data with: line and area paths, and a heatmap's image.
    const marks = [...chart.querySelectorAll(
      "svg.main-svg path.js-line, svg.main-svg path.js-fill, svg.main-svg image")].filter(
      (m) => (m.getAttribute("d") || m.getAttribute("href") || "").length > 20);
    if (!box || box.width < 50 || box.height < 50 || marks.length === 0) {
      problems.push(`chart ${chart.id} is not drawn (${chart.textContent.slice(0, 80)})`);
    } else if (box.right > width + 1) {
      problems.push(`chart ${chart.id} is wider than the screen (${box.right} px)`);
    }
  });
  document.querySelectorAll("table").forEach((table, t) => {
    const labels = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    const box = table.getBoundingClientRect();
    if (box.left < -1 || box.right > width + 1) {
      problems.push(`table ${t} does not fit: ${box.left}..${box.right} px in ${width}`);
    }
    // A table wider than its own block runs under the block beside it.
    const block = (table.closest("section") || document.body).getBoundingClientRect();
    if (box.right > block.right + 1) {
      problems.push(`table ${t} overflows its block: ${box.right} px past ${block.right}`);
    }
    table.querySelectorAll("tbody tr").forEach((row, r) => {
      [...row.children].forEach((cell, c) => {
        const b = cell.getBoundingClientRect();
        const style = getComputedStyle(cell);
        if (b.width <= 0 || b.height <= 0 || style.display === "none" || style.visibility === "hidden"
            || b.right > width + 1 || b.left < -1) {
          problems.push(`table ${t} row ${r} column ${c} (${labels[c]}) is hidden or cut off`);
        }
        const head = table.querySelector(`thead th:nth-child(${c + 1})`).getBoundingClientRect();
        const before = getComputedStyle(cell, "::before").content;
        if ((head.width <= 1 || head.height <= 1) && before !== JSON.stringify(labels[c])) {
          problems.push(`table ${t} column ${c}: its header is hidden and its cells are unlabelled`);
        }
      });
    });
  });
  return {problems, charts: document.querySelectorAll("div.chart").length,
          tables: document.querySelectorAll("table").length};
}"""


@dataclass
class PageReport:
    """What was found on one page at one width."""

    url: str
    width: int
    problems: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    refused_requests: list[str] = field(default_factory=list)
    charts: int = 0
    tables: int = 0

    def faults(self) -> list[str]:
        """Return every fault: layout problems, console errors, network requests."""
        return [
            *self.problems,
            *(f"console error: {text}" for text in self.console_errors),
            *(f"request outside the page's files: {url}" for url in self.refused_requests),
        ]


def chromium_path() -> Path:
    """Return the Chromium the tests drive (``$ALCHEMISER_CHROMIUM`` or Debian's)."""
    return Path(os.environ.get("ALCHEMISER_CHROMIUM", "/usr/bin/chromium"))


@contextmanager
def chromium(user_data_dir: Path) -> Iterator[BrowserContext]:
    """Yield a headless Chromium context with a fresh profile in ``user_data_dir``."""
    with sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=str(chromium_path()),
            headless=True,
            args=list(CHROMIUM_FLAGS),
            timeout=60_000,
        )
        try:
            yield context
        finally:
            context.close()


def inspect_page(
    context: BrowserContext,
    path: Path,
    viewports: Sequence[dict[str, int]],
    screenshots: Path | None,
) -> list[PageReport]:
    """Open ``path`` once, then at each viewport wait for its charts and report faults.

    The page is loaded at the first viewport and resized to the next ones (plotly
    redraws at the new width), so plotly.js is parsed once per page.
    """
    console_errors: list[str] = []
    refused: list[str] = []
    page = context.new_page()
    page.set_viewport_size(viewports[0])

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    def on_request(route: Route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.route("**/*", on_request)
    reports = []
    try:
        page.goto(path.as_uri(), wait_until="load")
        for viewport in viewports:
            page.set_viewport_size(viewport)
            page.wait_for_function(_DRAWN, timeout=DRAW_TIMEOUT_MS)
            found: dict[str, Any] = page.evaluate(_INSPECT)
            report = PageReport(path.as_uri(), viewport["width"], found["problems"])
            report.charts, report.tables = found["charts"], found["tables"]
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                name = f"{path.parent.name}-{path.stem}-{viewport['width']}.png"
                page.screenshot(path=str(screenshots / name), full_page=True)
            reports.append(report)
    finally:
        page.close()
    for report in reports:
        report.console_errors.extend(console_errors)
        report.refused_requests.extend(refused)
    return reports

"""The site's stylesheet, inlined in every page (a page is one file plus the chart library).

Narrow screens (up to 600 px, phones at 390 px): tables of five or more columns become
one card per row whose cells carry their column's name (``data-label``), so every
column stays visible without scrolling sideways; long labels and values wrap. On wide
screens blocks pair up in two columns, except charts and those wide tables, which take
the whole row.
"""

PAGE_CSS = """
:root { color-scheme: light; --ink: #1d2433; --muted: #5b6475; --line: #dde1e8;
  --accent: #1f5fbf; --paper: #ffffff; --band: #f5f7fa; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; padding: 0 12px 24px; font: 15px/1.45 system-ui, -apple-system,
  "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink);
  background: var(--paper); }
header, main, footer { max-width: 1100px; margin: 0 auto; }
header { padding: 16px 0 8px; border-bottom: 1px solid var(--line); }
nav a, a { color: var(--accent); }
h1 { font-size: 1.45rem; margin: 6px 0 2px; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 0 0 8px; }
.subtitle { color: var(--muted); margin: 0; overflow-wrap: anywhere; }
main { display: grid; grid-template-columns: minmax(0, 1fr); gap: 20px; padding-top: 16px; }
@media (min-width: 900px) { main { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  section.block:has(div.chart) { grid-column: 1 / -1; } section.notes { grid-column: 1 / -1; }
  section.block:has(table.stacked) { grid-column: 1 / -1; }
  section.block.wide { grid-column: 1 / -1; } }
section.block { min-width: 0; }
pre.text { margin: 0; padding: 8px; background: var(--band); font-size: 0.82rem;
  white-space: pre-wrap; overflow-wrap: anywhere; }
.chart { width: 100%; }
.chart.missing { min-height: 0 !important; padding: 12px; background: var(--band); color: var(--muted); }
table.figures { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.figures th, table.figures td { padding: 5px 8px; border-bottom: 1px solid var(--line);
  text-align: left; vertical-align: top; overflow-wrap: break-word; }
/* A long symphony name in a header may break anywhere; values break between words. */
table.figures th { overflow-wrap: anywhere; }
table.figures th { background: var(--band); font-weight: 600; }
table.figures .num { text-align: right; }
.note, section.notes li { color: var(--muted); font-size: 0.9rem; }
section.notes ul { margin: 0; padding-left: 18px; }
footer { color: var(--muted); font-size: 0.85rem; padding-top: 24px; }
@media (max-width: 600px) {
  body { font-size: 14px; padding: 0 8px 20px; }
  table.figures th, table.figures td { padding: 4px 5px; }
  table.stacked thead { position: absolute; width: 1px; height: 1px; overflow: hidden;
    clip: rect(0 0 0 0); white-space: nowrap; }
  table.stacked, table.stacked tbody, table.stacked tr, table.stacked td { display: block;
    width: 100%; }
  table.stacked tr { border: 1px solid var(--line); border-radius: 6px; margin-bottom: 8px;
    padding: 2px 0; }
  table.stacked td { display: flex; justify-content: space-between; gap: 12px;
    border-bottom: none; text-align: right; }
  table.stacked td::before { content: attr(data-label); font-weight: 600; text-align: left;
    color: var(--muted); }
}
"""

"""Pages as data, their HTML, and the site on disk (the browser tests open them)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from alchemiser.analytics import site
from alchemiser.analytics.page import Chart, Link, Page, Table, Text, slugify
from alchemiser.analytics.returns import ReturnSeries, WeightHistory, benchmark_returns
from alchemiser.analytics.site import ChartLibraryMissingError, render_page, write_page, write_site
from alchemiser.analytics.tearsheet import build_tearsheet, percent
from alchemiser.market.loader import load_price_directory
from tests.conftest import REPO_ROOT
from tests.support.pages import read_page


def _series(prices_dir: Path) -> tuple[ReturnSeries, ReturnSeries, WeightHistory]:
    """QQQ and SPY over 2019-2021, and a 60/40 QQQ/TLT weight history (real prices)."""
    history = load_price_directory(prices_dir, ["QQQ", "SPY"])
    keep = (history.dates >= np.datetime64("2019-01-02")) & (
        history.dates <= np.datetime64("2021-12-31")
    )
    rows = np.flatnonzero(keep)
    closes = history.closes[rows[0] - 1 : rows[-1] + 1]
    returns = closes[1:] / closes[:-1] - 1.0
    dates = history.dates[rows]
    weights = np.tile([0.6, 0.4], (len(dates), 1))
    return (
        ReturnSeries("QQQ", dates, returns[:, 0]),
        ReturnSeries("SPY", dates, returns[:, 1]),
        WeightHistory(dates, ("QQQ", "TLT"), weights),
    )


@pytest.fixture(scope="module")
def tearsheet(prices_dir: Path) -> Page:
    strategy, benchmark, weights = _series(prices_dir)
    return build_tearsheet(
        "qqq", "QQQ", strategy, benchmark=benchmark, weights=weights, notes=("A note.",)
    )


def test_every_chart_is_a_valid_plotly_figure(tearsheet: Page) -> None:
    # Given the tearsheet's charts
    figures = [block.figure for block in tearsheet.blocks if isinstance(block, Chart)]
    # When / Then: plotly's own schema accepts each (an unknown property raises)
    assert len(figures) == 6
    for figure in figures:
        go.Figure(figure)


def test_plotly_schema_rejects_a_misspelt_property() -> None:
    # Given a figure with a property plotly does not know
    # When / Then: the check above can fail
    with pytest.raises(ValueError, match="colour"):
        go.Figure({"data": [{"type": "scatter", "x": [1], "y": [1], "colour": "red"}]})


def test_tearsheet_tables_show_the_metrics_of_both_series(tearsheet: Page) -> None:
    # Given
    tables = {block.title: block for block in tearsheet.blocks if isinstance(block, Table)}
    # When
    performance = {row[0]: row[1:] for row in tables["Performance"].rows}
    # Then
    assert tables["Performance"].columns == ("Figure", "QQQ", "SPY")
    assert set(tables) == {"Performance", "Trailing returns", "Returns by year", "Against SPY"}
    assert performance["Turnover (per year)"] == ("—", "—")
    assert [row[0] for row in tables["Returns by year"].rows] == ["2019", "2020", "2021"]
    assert dict(tearsheet.summary)["From"] == "2019-01-02"
    assert tearsheet.subtitle == "2019-01-02 to 2021-12-31, 757 trading days against SPY"


def test_a_page_survives_a_json_round_trip(tearsheet: Page) -> None:
    # Given
    linked = Page("index", "Index", "", (Table("Pages", ("Page",), ((Link("QQQ", "qqq.html"),),)),))
    # When / Then
    for page in (tearsheet, linked):
        assert Page.from_dict(json.loads(json.dumps(page.to_dict()))) == page


def test_tables_refuse_ragged_rows_and_pages_refuse_unsafe_slugs() -> None:
    # Given / When / Then
    with pytest.raises(ValueError, match="row 2 has 1 cells, expected 2"):
        Table("T", ("a", "b"), (("1", "2"), ("3",)))
    with pytest.raises(ValueError, match="slug"):
        Page("../etc", "t", "", ())
    assert slugify("Nuclear Energy (v2)") == "nuclear-energy-v2"
    assert slugify("Index") == "index-2"
    assert slugify("a", taken=("a", "a-2")) == "a-3"


def test_text_is_escaped_and_a_figure_cannot_close_its_script() -> None:
    # Given a name with markup and figure data containing "</script>"
    figure = {"data": [{"type": "scatter", "name": "</script><b>x", "x": [1], "y": [2]}]}
    page = Page(
        "p",
        "<b>Bold</b> & co",
        "",
        (Table("T", ("Name", "Value"), (("<i>x</i>", "1"),)), Chart("C", figure)),
    )
    # When
    text = render_page(page, "assets/plotly.min.js")
    # Then
    assert "<b>Bold</b>" not in text and "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in text
    assert "<i>x</i>" not in text
    assert "</script><b>" not in text
    assert text.count("</script>") == 3  # the figure's, plotly.js' and the drawing script's


def test_a_site_writes_every_page_an_index_and_the_chart_library_once(
    tearsheet: Page, tmp_path: Path
) -> None:
    # Given two pages
    other = Page("spy", "SPY", "", tearsheet.blocks, summary=(("CAGR", "1.00 %"),))
    # When
    files = write_site(tmp_path, [tearsheet, other], title="Books")
    library_written = files.chart_library.stat().st_mtime_ns
    again = write_site(tmp_path, [tearsheet, other], title="Books")
    # Then
    assert files.index == tmp_path / "index.html"
    assert [p.name for p in files.pages] == ["qqq.html", "spy.html"]
    assert list((tmp_path / "assets").iterdir()) == [files.chart_library]
    assert (
        files.chart_library.name.startswith("plotly-") and files.chart_library.stat().st_size > 1e6
    )
    assert again.chart_library.stat().st_mtime_ns == library_written  # not copied again
    index = read_page(files.index)
    assert index.links == ["qqq.html", "spy.html"]
    assert index.table("Pages")["SPY"][list(index.table("Pages")[""]).index("CAGR")] == "1.00 %"
    page = read_page(files.pages[0])
    assert page.scripts == ["assets/" + files.chart_library.name]
    assert page.links == ["index.html"]
    assert len(page.figures) == 6


def test_duplicate_slugs_are_refused(tearsheet: Page, tmp_path: Path) -> None:
    # Given / When / Then
    with pytest.raises(ValueError, match="unique"):
        write_site(tmp_path, [tearsheet, tearsheet], title="Twice")


def test_a_single_page_gets_the_library_beside_it(tearsheet: Page, tmp_path: Path) -> None:
    # Given / When
    files = write_page(tearsheet, tmp_path / "reports" / "qqq.html")
    # Then
    assert files.chart_library.parent == tmp_path / "reports" / "assets"
    assert read_page(files.pages[0]).scripts == [f"assets/{files.chart_library.name}"]


def test_a_missing_plotly_package_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tearsheet: Page, tmp_path: Path
) -> None:
    # Given no plotly package to take plotly.js from
    monkeypatch.setattr(site.importlib.util, "find_spec", lambda name: None)
    # When / Then
    with pytest.raises(ChartLibraryMissingError, match="pip install plotly"):
        write_page(tearsheet, tmp_path / "p.html")


def test_rendering_and_writing_need_neither_numpy_nor_pandas(tmp_path: Path) -> None:
    # Given a process in which numpy and pandas cannot be imported
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["numpy"] = None
        sys.modules["pandas"] = None
        from pathlib import Path
        from alchemiser.analytics.page import Chart, Page, Table
        from alchemiser.analytics.site import write_site
        figure = {{"data": [{{"type": "scatter", "x": ["2024-01-02"], "y": [1.0]}}]}}
        page = Page("p", "P", "", (Table("T", ("a",), (("1",),)), Chart("C", figure)))
        files = write_site(Path({str(tmp_path)!r}), [page], title="Site")
        print(files.index)
        """
    )
    # When
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60
    )
    # Then
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "index.html").is_file() and (tmp_path / "p.html").is_file()


def test_a_benchmark_missing_a_strategy_day_is_named() -> None:
    # Given a benchmark whose values start a day after the strategy
    days = np.array(["2024-01-02", "2024-01-03", "2024-01-04"], dtype="datetime64[D]")
    # When / Then
    with pytest.raises(ValueError, match=r"no value on 2024-01-02.*from 2024-01-03 to 2024-01-04"):
        benchmark_returns("SVIX", days, days[1:], np.array([10.0, 11.0]), 10.0)


def test_benchmark_days_the_strategy_lacks_compound_into_the_next_day() -> None:
    # Given a benchmark with an extra day (2024-01-03) between the strategy's two days
    days = np.array(["2024-01-02", "2024-01-04"], dtype="datetime64[D]")
    values_days = np.array(["2024-01-02", "2024-01-03", "2024-01-04"], dtype="datetime64[D]")
    # When
    series = benchmark_returns("SPY", days, values_days, np.array([100.0, 110.0, 121.0]), 100.0)
    # Then
    assert series.returns == pytest.approx([0.0, 0.21])


def test_percent_formats_fractions_and_marks_missing_values() -> None:
    # Given / When / Then
    assert percent(0.12345) == "12.35 %"
    assert percent(-1.5, 1) == "-150.0 %"
    assert percent(None) == "—"


def test_weights_from_rows_fill_unheld_labels_with_zero() -> None:
    # Given two days of {ticker: weight}
    days = [date(2024, 1, 2), date(2024, 1, 3)]
    # When
    history = WeightHistory.from_rows(days, [{"SPY": 0.6, "TLT": 0.4}, {"BIL": 1.0}])
    # Then
    assert history.labels == ("BIL", "SPY", "TLT")
    assert history.weights.tolist() == [[0.0, 0.6, 0.4], [1.0, 0.0, 0.0]]
    with pytest.raises(ValueError, match="must be 2x3"):
        WeightHistory(history.dates, history.labels, history.weights[:, :2])


def test_a_text_block_travels_as_json_and_renders_escaped_with_its_anchor() -> None:
    trace = Text("Decision trace: nuclear", "if (< a b) -> <true>", anchor="trace-nuclear")
    page = Page("run-2024-03-11", "Run", "", (trace,))
    assert Page.from_dict(page.to_dict()) == page
    html = render_page(page, "assets/plotly.min.js")
    assert '<section class="block wide" id="trace-nuclear">' in html
    assert "if (&lt; a b) -&gt; &lt;true&gt;" in html

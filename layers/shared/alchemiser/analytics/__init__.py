"""Performance a person can see: return series, metrics, tearsheets and static sites.

* :mod:`.returns` — daily return series and weight histories (the inputs).
* :mod:`.metrics`, :mod:`.periods`, :mod:`.relative`, :mod:`.rolling` — the one
  definition of every figure; :mod:`.summary` gathers them for one series.
* :mod:`.charts`, :mod:`.tearsheet` — a page of charts and tables from a series.
* :mod:`.page`, :mod:`.site` — pages as plain data, written as static HTML with the
  chart library once per site (standard library only).
* :mod:`.backtest_report` — the tearsheet of ``alchemiser backtest --report``.

Importing this package imports none of them.
"""

"""Performance a person can see: return series, metrics, tearsheets and static sites.

* :mod:`.returns` — daily return series and weight histories (the inputs).
* :mod:`.metrics`, :mod:`.periods`, :mod:`.relative`, :mod:`.rolling` — the one
  definition of every figure; :mod:`.summary` gathers them for one series.
* :mod:`.charts`, :mod:`.tearsheet` — a page of charts and tables from a series.
* :mod:`.page`, :mod:`.site` — pages as plain data, written as static HTML with the
  chart library once per site (standard library only).
* :mod:`.backtest_report` — the tearsheet of ``alchemiser backtest --report``.
* :mod:`.live_series` — the live account's runs, NAVs and daily returns (the one reader
  of the ledger and the run outputs); :mod:`.live_vs_backtest` — each book against its
  symphony's backtest; :mod:`.execution_quality` — what each order paid.
* :mod:`.dashboard`, :mod:`.run_pages` — the live dashboard's pages; :mod:`.publish` —
  writing it to the home or to S3 (``alchemiser report`` and the Notify step);
  :mod:`.email_chart` — the email's PNG chart (matplotlib).

Importing this package imports none of them.
"""

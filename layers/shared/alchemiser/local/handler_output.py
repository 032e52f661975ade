"""Keep a local run's stdout for the command's own output (``alchemiser run --json``).

On Lambda a handler's stdout is its log stream: Powertools' Logger writes to it, and its
Metrics print CloudWatch EMF lines there, even with ``POWERTOOLS_METRICS_DISABLED`` as
soon as one metric holds 100 values (which a run of 100 books reaches, since the
handlers' Metrics share one buffer). In one local process those lines would land in
the middle of the summary. So while the state machine runs:

* stdout is captured; the runner saves it beside the execution history
  (``runs/<run id>/attempt-N.log``), or writes it to stderr if the run raises;
* Powertools' log handlers write to stderr;
* Powertools' "No application metrics to publish" warning is silenced: local runs
  publish no metrics, so it says nothing.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def stdout_captured() -> Iterator[io.StringIO]:
    """Capture everything printed to stdout (by any thread) while the block runs."""
    captured = io.StringIO()
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", category=UserWarning, module=r"aws_lambda_powertools\.metrics"
        )
        try:
            with contextlib.redirect_stdout(captured):
                yield captured
        except BaseException:
            sys.stderr.write(captured.getvalue())  # nothing is lost when the run breaks
            raise


def route_logs_to_stderr(logger_name: str) -> None:
    """Point the stream handlers of ``logger_name`` (Powertools' Logger) at stderr."""
    for handler in logging.getLogger(logger_name).handlers:
        if type(handler) is logging.StreamHandler:
            # Not setStream: it flushes the old stream, which an earlier run may have closed.
            handler.acquire()
            try:
                handler.stream = sys.stderr
            finally:
                handler.release()

"""A local run keeps stdout for its own output: handler prints are captured, logs go to stderr."""

from __future__ import annotations

import logging
import sys
import threading

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from alchemiser.local.handler_output import route_logs_to_stderr, stdout_captured


def test_prints_from_other_threads_are_captured_not_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with stdout_captured() as captured:
        worker = threading.Thread(target=lambda: print('{"_aws": "an EMF line"}'))
        worker.start()
        worker.join()
    assert capsys.readouterr().out == ""
    assert captured.getvalue() == '{"_aws": "an EMF line"}\n'


def test_a_hundred_metric_values_never_reach_stdout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Powertools prints a full metric set even with metrics disabled
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    metrics = Metrics(namespace="Test", service="test-output")
    with stdout_captured() as captured:
        for _ in range(100):
            metrics.add_metric(name="BookTradesPlanned", unit=MetricUnit.Count, value=1)
    metrics.clear_metrics()
    assert capsys.readouterr().out == ""
    assert '"BookTradesPlanned"' in captured.getvalue()


def test_what_a_broken_run_printed_is_written_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    def broken_run() -> None:
        with stdout_captured():
            print("half a line")
            raise RuntimeError("the run broke")

    with pytest.raises(RuntimeError):
        broken_run()
    out, err = capsys.readouterr()
    assert out == "" and "half a line" in err


def test_powertools_logs_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    logger = Logger(service="test-route-logs", level="WARNING", stream=sys.stdout)
    route_logs_to_stderr("test-route-logs")
    logger.warning("drift found")
    out, err = capsys.readouterr()
    assert out == "" and "drift found" in err
    logging.getLogger("test-route-logs").handlers.clear()

"""The adapters a step runs with, and how a handler finds them.

Handlers call :func:`current`. On AWS the first call builds the AWS adapters from
:class:`Settings` (lazily: nothing is created at import time). Locally the runner
installs the embedded adapters with :func:`installed` before executing the state
machine; Map items run on other threads, so the registry is process-wide.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

from alchemiser.broker.port import Broker
from alchemiser.cycle.faults import FaultPlan
from alchemiser.execution.clock import Clock
from alchemiser.executions.port import Executions, NoOtherExecutions
from alchemiser.ledger.port import Ledger
from alchemiser.notify.port import Notifier
from alchemiser.settings import Runtime, Settings
from alchemiser.storage.port import ObjectStore

if TYPE_CHECKING:  # the market adapters need numpy and pandas, which not every function has
    from alchemiser.broker.options_port import OptionsBroker
    from alchemiser.ledger.hedge_store import HedgeStore
    from alchemiser.market.port import MarketData


@dataclass(frozen=True)
class Dependencies:
    """Everything a step touches outside its own arguments."""

    settings: Settings
    broker: Broker
    ledger: Ledger
    market: MarketData
    store: ObjectStore
    notifier: Notifier
    clock: Clock
    idempotency: Callable[
        [], BasePersistenceLayer
    ]  # a fresh layer per step call (they hold config)
    strategies_dir: Path
    faults: FaultPlan = field(default_factory=FaultPlan)
    executions: Executions = field(default_factory=NoOtherExecutions)
    options: OptionsBroker | None = None  # the Hedge step's broker (None: no hedging possible)
    hedge_store: HedgeStore | None = None  # the ledger's hedge book (the Hedge step's)


_lock = threading.Lock()
_installed: Dependencies | None = None


def current() -> Dependencies:
    """Return the installed dependencies, building the AWS ones on first use in Lambda."""
    global _installed
    with _lock:
        if _installed is None:
            settings = Settings()
            if settings.runtime is not Runtime.AWS:
                raise RuntimeError(
                    "no adapters installed: run the cycle with `alchemiser run` (local), "
                    "or set ALCHEMISER_RUNTIME=aws inside Lambda"
                )
            from alchemiser.aws_runtime import (
                build_aws_dependencies,
            )  # only in Lambda: AWS SDK adapters

            _installed = build_aws_dependencies(settings)
        return _installed


@contextmanager
def installed(dependencies: Dependencies) -> Iterator[Dependencies]:
    """Install ``dependencies`` for the duration of a local run (one at a time)."""
    global _installed
    with _lock:
        if _installed is not None:
            raise RuntimeError("another set of adapters is already installed in this process")
        _installed = dependencies
    try:
        yield dependencies
    finally:
        with _lock:
            _installed = None

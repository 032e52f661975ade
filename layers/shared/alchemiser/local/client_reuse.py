"""Reuse one Lambda client per session in moto's Step Functions interpreter.

moto (checked on 5.2.x) builds a new boto3 Lambda client for every Lambda Task it runs
(``lambda_eval_utils.boto_client_for``); building a client costs more than answering
the invoke in-process, which at a thousand Map items is most of a local run. Within a
session the clients are identical (same region, service, fake credentials, and the
boto3 default session that carries the in-process invoke hook), and botocore clients
are thread-safe, so `reused_lambda_clients` builds each one once. A canary test checks
that moto still builds its clients where this patches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils


class MotoClientHookError(RuntimeError):
    """moto no longer builds its Lambda clients where this module patches."""


def check_client_hook_point() -> None:
    """Raise `MotoClientHookError` unless moto still builds Lambda clients through the patched name."""
    if not callable(getattr(lambda_eval_utils, "boto_client_for", None)):
        raise MotoClientHookError(
            "moto.stepfunctions ... lambda_eval_utils no longer has boto_client_for: "
            "update alchemiser.local.client_reuse for this moto version"
        )


@contextmanager
def reused_lambda_clients() -> Iterator[None]:
    """Inside the block, moto builds each (region, service, credentials) client once."""
    check_client_hook_point()
    build = getattr(lambda_eval_utils, "boto_client_for")  # noqa: B009 - moto re-exports it
    built: dict[tuple[str, str, str], Any] = {}
    lock = threading.Lock()

    def reuse(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service, repr(state_credentials))
        with lock:
            if key not in built:
                built[key] = build(
                    region=region, service=service, state_credentials=state_credentials
                )
            return built[key]

    with patch.object(lambda_eval_utils, "boto_client_for", reuse):
        yield

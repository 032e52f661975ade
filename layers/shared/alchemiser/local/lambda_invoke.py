"""Answer ``lambda.Invoke`` calls in-process by calling Python handlers.

`InProcessLambda` is a botocore ``before-call.lambda.Invoke`` hook: botocore calls it
before sending an Invoke request, and the response it returns is used instead of one
from the network. It decodes the payload, calls the handler registered for the
function with a `LocalLambdaContext`, and encodes the result the way the Lambda
service does:

* a returned value is JSON-encoded into ``Payload`` (``StatusCode`` 200);
* an exception becomes ``FunctionError: "Unhandled"`` with the Python runtime's error
  document, ``{"errorMessage", "errorType", "requestId", "stackTrace"}``, where
  ``errorType`` is the exception's class name. Step Functions names the task's error
  after ``errorType``, so ``ErrorEquals: ["TransientError"]`` matches a raised
  ``TransientError``;
* a value that is not JSON-serialisable fails as ``Runtime.MarshalError``;
* a function without a handler is a ``ResourceNotFoundException`` (HTTP 404).

The hook runs on whatever thread makes the call: under moto that is a worker thread
of the interpreter, so handlers must be thread-safe. Each function's context carries
its own timeout (``timeouts``, as the template configures it: Powertools Idempotency
reads the remaining time from it), and `InProcessLambda.wait_idle` waits for the
invocations still running, e.g. the other iterations of a Map that failed.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.response import StreamingBody

LambdaHandler = Callable[[dict[str, Any], Any], Any]
"""A Lambda handler: ``(event, context) -> JSON-able result``."""

INVOKE_EVENT = "before-call.lambda.Invoke"

_LOG = logging.getLogger(__name__)
_FUNCTION_ARN = re.compile(
    r"^(?:arn:(?P<partition>[\w-]+):lambda:(?P<region>[\w-]+):)?(?:(?P<account>\d{12}):)?"
    r"(?:function:)?(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>[\w$-]+))?$"
)
_INVOKE_PATH = re.compile(r"/functions/(?P<function>[^/]+)/invocations$")


def function_name_of(function: str) -> str:
    """Return the bare function name of a name, partial ARN or ARN (qualifier dropped)."""
    match = _FUNCTION_ARN.match(function)
    if match is None:
        raise ValueError(
            f"expected a Lambda function name or ARN such as "
            f"'arn:aws:lambda:us-east-1:123456789012:function:plan-cycle', was {function!r}"
        )
    return match["name"]


@dataclass(frozen=True)
class LocalLambdaContext:
    """The parts of the Lambda context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int
    deadline_monotonic: float = field(repr=False)
    function_version: str = "$LATEST"
    identity: None = None
    client_context: None = None

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        """Return the milliseconds left before the function's configured timeout."""
        return max(0, int((self.deadline_monotonic - time.monotonic()) * 1000))


@dataclass(frozen=True)
class _Outcome:
    status_code: int
    payload: bytes
    function_error: str | None = None
    error_code: str | None = None  # set when the Lambda API itself refuses the call


class InProcessLambda:
    """Resolve Lambda functions to Python handlers and answer Invoke calls with them."""

    def __init__(
        self,
        handlers: Mapping[str, LambdaHandler],
        *,
        region: str,
        account_id: str,
        timeout_s: float = 900.0,
        memory_mb: int = 1024,
        timeouts: Mapping[str, float] | None = None,
    ) -> None:
        self._region = region
        self._account_id = account_id
        self._timeout_s = timeout_s
        self._timeouts = {function_name_of(f): t for f, t in (timeouts or {}).items()}
        self._memory_mb = memory_mb
        self._running = 0
        self._idle = threading.Condition()
        self._raised: list[tuple[str, str]] = []  # (function, error name), in order
        self._by_key = dict(handlers)
        by_name: dict[str, LambdaHandler] = {}
        for key, handler in handlers.items():
            name = function_name_of(key)
            if by_name.get(name, handler) is not handler:
                raise ValueError(f"two different handlers are registered for function {name!r}")
            by_name[name] = handler
        self._by_name = by_name

    def knows(self, function: str) -> bool:
        """Return whether a handler answers ``function`` (a name or an ARN)."""
        return self._handler_for(function) is not None

    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self._region}:{self._account_id}:function:{name}"

    def timeout_of(self, function: str) -> float:
        """Return the configured timeout of ``function`` (seconds)."""
        return self._timeouts.get(function_name_of(function), self._timeout_s)

    def context_for(self, function: str) -> LocalLambdaContext:
        """Return a fresh context for one invocation of ``function``, its timeout running."""
        name = function_name_of(function)
        return LocalLambdaContext(
            function_name=name,
            invoked_function_arn=function
            if function.startswith("arn:")
            else self.function_arn(name),
            aws_request_id=str(uuid.uuid4()),
            memory_limit_in_mb=self._memory_mb,
            deadline_monotonic=time.monotonic() + self.timeout_of(name),
        )

    @property
    def raised(self) -> list[tuple[str, str]]:
        """Every (function name, error name) an invocation raised, oldest first."""
        with self._idle:
            return list(self._raised)

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no invocation is running (at most ``timeout_s``); return whether none is."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout=timeout_s)

    def __call__(self, params: Mapping[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        """Answer one ``before-call.lambda.Invoke`` event with ``(http, parsed)``."""
        match = _INVOKE_PATH.search(str(params.get("url_path", "")).split("?", 1)[0])
        if match is None:
            raise ValueError(f"not a Lambda Invoke request path: {params.get('url_path')!r}")
        function = unquote(match["function"])
        outcome = self._invoke(function, _body_bytes(params.get("body")))
        return _to_botocore_response(outcome, str(params.get("url", "")))

    def _invoke(self, function: str, payload: bytes) -> _Outcome:
        """Call the handler of ``function`` with the decoded ``payload``."""
        handler = self._handler_for(function)
        if handler is None:
            message = (
                f"Function not found: {function} (local handlers: "
                f"{', '.join(sorted(self._by_key)) or 'none'})"
            )
            return _Outcome(404, message.encode(), error_code="ResourceNotFoundException")
        with self._idle:
            self._running += 1
        try:
            return self._call(handler, function, payload)
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def _call(self, handler: LambdaHandler, function: str, payload: bytes) -> _Outcome:
        context = self.context_for(function)
        request_id, name = context.aws_request_id, context.function_name
        event = json.loads(payload) if payload.strip() else {}
        try:
            result = handler(event, context)
        # The Lambda runtime turns every exception into an error document, and so do we:
        # nothing is hidden, the error travels to the state machine's Retry/Catch.
        except Exception as error:  # noqa: BLE001
            _LOG.info("local Lambda %s raised %s", name, type(error).__name__, exc_info=True)
            with self._idle:
                self._raised.append((name, type(error).__name__))
            return _unhandled(type(error).__name__, str(error), request_id, error)
        try:
            body = json.dumps(result).encode()
        except (TypeError, ValueError) as error:
            return _unhandled(
                "Runtime.MarshalError", f"Unable to marshal response: {error}", request_id, None
            )
        return _Outcome(200, body)

    def _handler_for(self, function: str) -> LambdaHandler | None:
        if function in self._by_key:
            return self._by_key[function]
        try:
            return self._by_name.get(function_name_of(function))
        except ValueError:
            return None


def _unhandled(
    error_type: str, message: str, request_id: str, error: BaseException | None
) -> _Outcome:
    stack = traceback.format_tb(error.__traceback__) if error is not None else []
    document = {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack,
    }
    return _Outcome(200, json.dumps(document).encode(), function_error="Unhandled")


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "read"):
        data = body.read()
        return data if isinstance(data, bytes) else str(data).encode()
    raise TypeError(f"unexpected Invoke request body of type {type(body).__name__}")


def _to_botocore_response(outcome: _Outcome, url: str) -> tuple[AWSResponse, dict[str, Any]]:
    request_id = str(uuid.uuid4())
    headers = HTTPHeaders()
    headers["x-amzn-requestid"] = request_id
    headers["content-type"] = "application/json"
    metadata = {
        "RequestId": request_id,
        "HTTPStatusCode": outcome.status_code,
        "HTTPHeaders": dict(headers.items()),
        "RetryAttempts": 0,
    }
    http = AWSResponse(url, outcome.status_code, headers, None)
    if outcome.error_code is not None:
        parsed: dict[str, Any] = {
            "Error": {"Code": outcome.error_code, "Message": outcome.payload.decode()},
            "ResponseMetadata": metadata,
        }
        return http, parsed
    parsed = {
        "StatusCode": outcome.status_code,
        "ExecutedVersion": "$LATEST",
        "Payload": StreamingBody(io.BytesIO(outcome.payload), len(outcome.payload)),
        "ResponseMetadata": metadata,
    }
    if outcome.function_error is not None:
        parsed["FunctionError"] = outcome.function_error
    return http, parsed

"""Execute an ASL state machine in-process: moto's interpreter, Python Lambda handlers.

`LocalStepFunctions` opens one offline Step Functions session (moto's ``mock_aws`` with
``execute_state_machine``), creates the state machine from the definition and runs
executions of it one at a time; `run_state_machine` is the one-execution shortcut.

* **Lambda tasks**: both ``arn:aws:states:::lambda:invoke`` (``FunctionName`` +
  ``Payload``) and a Lambda ARN as ``Resource`` reach the handler registered for the
  function (by ARN or bare name) through a botocore hook on the boto3 default session
  that moto's interpreter uses; see `alchemiser.local.lambda_invoke`. An exception's
  class name is the Step Functions error name, so ``ErrorEquals: ["TransientError"]``,
  ``States.TaskFailed`` and ``States.ALL`` all match a raised ``TransientError``.
* **Threads**: moto runs each execution on its own thread and each Task attempt on a
  fresh thread; Map iterations and Parallel branches run concurrently on further
  threads. Handlers are therefore called off the caller's thread, possibly
  concurrently, and must be thread-safe (e.g. no SQLite connection shared across
  threads).
* **Sleeps**: ``time_scale`` multiplies Wait-state and Retry back-off sleeps (0 skips
  them); see `alchemiser.local.sleep_scaling`. Task and state machine timeouts are
  not scaled.
* **Execution names** are unique per state machine, as on AWS: starting a name this
  session already ran raises `ExecutionAlreadyExistsError`. `LocalStepFunctions.redrive`
  re-runs a FAILED, TIMED_OUT or ABORTED execution under the same name and ARN with
  its original input. Unlike a real redrive it starts again from the first state, so
  every step runs again and must be idempotent. Each `run_state_machine` call is a
  fresh, empty session, so names do not carry over between calls.
* **Offline**: fake credentials and a region are set in ``os.environ`` (and AWS
  profile, config-file and endpoint variables hidden) only while the session is
  open; no network and no AWS account are used.

What moto's interpreter (checked on 5.2.x) does not do, so the ASL must not rely on it:
JSONata and ``Assign``/variables fail with ``States.Runtime``; ``Timestamp``/
``TimestampPath`` accept only UTC ``YYYY-MM-DDTHH:MM:SS[.fff]Z`` (an offset such as
``+00:00`` is ``States.Runtime``), and are compared with the machine's local clock, so a
real-time wait is right only where local time is UTC; ``$$.Execution.StartTime`` and
``$$.State.EnteredTime`` reach a Lambda payload as ``...+00:00`` strings but break
``DescribeExecution`` if they end up in the execution's output; a Lambda invoke result
carries ``StatusCode``, ``ExecutedVersion`` and ``Payload`` only (no ``SdkHttpMetadata``);
keep Maps ``INLINE`` (``ToleratedFailurePercentage`` on an inline Map does not even
parse; distributed-mode features were not checked); there is no
``$$.Execution.RedriveCount``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, cast
from unittest.mock import patch

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.config import DefaultConfig, default_user_config
from moto.core.models import DEFAULT_ACCOUNT_ID

from alchemiser.local.client_reuse import reused_lambda_clients
from alchemiser.local.definition import (
    DefinitionError,
    lambda_functions_in,
    substitute_definition,
)
from alchemiser.local.history import (
    ExecutionResult,
    HistoryEvent,
    backend_history,
    decode_json,
    parse_history,
)
from alchemiser.local.lambda_invoke import INVOKE_EVENT, InProcessLambda, LambdaHandler
from alchemiser.local.sleep_scaling import scaled_sleeps

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef

__all__ = [
    "LOCAL_ACCOUNT_ID",
    "LOCAL_REGION",
    "DefinitionError",
    "ExecutionAlreadyExistsError",
    "ExecutionDeadlineExceededError",
    "ExecutionNotRedrivableError",
    "ExecutionResult",
    "HistoryEvent",
    "LambdaHandler",
    "LocalStepFunctions",
    "run_state_machine",
    "substitute_definition",
]

LOCAL_REGION: Final = "us-east-1"
LOCAL_ACCOUNT_ID: Final[str] = DEFAULT_ACCOUNT_ID
REDRIVABLE_STATUSES: Final = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})

# StartExecution's name rule: 1-80 characters, none of these and no whitespace/control.
_BAD_NAME_CHARACTERS = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_MOTO_CONFIG: Final[DefaultConfig] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
_HIDDEN_ENV_PREFIXES = ("AWS_ENDPOINT_URL",)
_HIDDEN_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


class ExecutionAlreadyExistsError(RuntimeError):
    """An execution name was used twice on one state machine."""


class ExecutionNotRedrivableError(RuntimeError):
    """A redrive was asked for an execution that did not run or did not fail."""


class ExecutionDeadlineExceededError(TimeoutError):
    """An execution was still running at the caller's deadline; it has been stopped."""

    def __init__(self, message: str, history: list[HistoryEvent]) -> None:
        super().__init__(message)
        self.history = history


def validate_execution_name(name: str) -> None:
    """Raise `ValueError` unless StartExecution would accept ``name``."""
    if not 1 <= len(name) <= 80 or _BAD_NAME_CHARACTERS.search(name):
        raise ValueError(
            "an execution name is 1-80 characters without whitespace, brackets, wildcards "
            f'or any of "#%\\^|~`$&,;:/, was {name!r}'
        )


@contextmanager
def _offline_aws_environment(region: str) -> Iterator[None]:
    """Point every AWS SDK default at fake credentials in ``region``; undo on exit."""
    overrides = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    hidden = [
        key for key in os.environ if key in _HIDDEN_ENV or key.startswith(_HIDDEN_ENV_PREFIXES)
    ]
    saved = {key: os.environ.get(key) for key in [*overrides, *hidden]}
    try:
        for key in hidden:
            del os.environ[key]
        os.environ.update(overrides)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _default_boto3_session(session: boto3.Session) -> Iterator[None]:
    # moto's interpreter builds its Lambda client with boto3.client(...), i.e. from
    # boto3's default session: making ours the default is what routes it to the hook.
    saved = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = session
    try:
        yield
    finally:
        boto3.DEFAULT_SESSION = saved


class LocalStepFunctions:
    """One offline Step Functions session holding one state machine.

    Use as a context manager; `start` runs an execution to its end and returns its
    `ExecutionResult`. Only one session may be open per process at a time.
    """

    def __init__(
        self,
        definition: str | Mapping[str, Any],
        substitutions: Mapping[str, str],
        handlers: Mapping[str, LambdaHandler],
        *,
        time_scale: float = 0.0,
        timeout_s: float = 600,
        state_machine_name: str = "local-state-machine",
        region: str = LOCAL_REGION,
        lambda_timeout_s: float = 900,
        lambda_timeouts: Mapping[str, float] | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, was {timeout_s}")
        self._definition = substitute_definition(definition, substitutions)
        self._lambda = InProcessLambda(
            handlers,
            region=region,
            account_id=LOCAL_ACCOUNT_ID,
            timeout_s=lambda_timeout_s,
            timeouts=lambda_timeouts,
        )
        unanswered = sorted(
            f for f in lambda_functions_in(self._definition) if not self._lambda.knows(f)
        )
        if unanswered:
            raise DefinitionError(
                f"no handler for Lambda function(s) {', '.join(unanswered)}; "
                f"handlers given for: {', '.join(sorted(handlers)) or 'none'}"
            )
        self._time_scale = time_scale
        self._timeout_s = timeout_s
        self._name = state_machine_name
        self._region = region
        self._stack: ExitStack | None = None
        self._client: SFNClient | None = None
        self._state_machine_arn = ""
        self._results: dict[str, ExecutionResult] = {}
        self._inputs: dict[str, str] = {}

    @property
    def state_machine_arn(self) -> str:
        return self._state_machine_arn

    @property
    def definition(self) -> dict[str, Any]:
        """The definition this session runs, its placeholders substituted."""
        return self._definition

    @property
    def lambdas(self) -> InProcessLambda:
        """The in-process Lambda service of this session (contexts, running invocations)."""
        return self._lambda

    @property
    def results(self) -> dict[str, ExecutionResult]:
        """The latest result of every execution name run in this session."""
        return dict(self._results)

    def __enter__(self) -> Self:
        with ExitStack() as stack:
            stack.enter_context(_offline_aws_environment(self._region))
            stack.enter_context(scaled_sleeps(self._time_scale))
            stack.enter_context(reused_lambda_clients())
            # mock_aws(config=...) alone leaves its config applied when it is nested in an
            # outer mock (moto undoes it only at the outermost stop); patch.dict undoes it.
            stack.enter_context(patch.dict(default_user_config, _MOTO_CONFIG))
            stack.enter_context(mock_aws(config=_MOTO_CONFIG))
            session = boto3.Session(region_name=self._region)
            stack.enter_context(_default_boto3_session(session))
            # botocore-stubs types handlers as returning None; before-call handlers may
            # return a response, which botocore then uses instead of sending the request.
            hook = cast(Callable[..., None], self._lambda)
            session.events.register(INVOKE_EVENT, hook, unique_id=INVOKE_EVENT)
            stack.callback(session.events.unregister, INVOKE_EVENT, unique_id=INVOKE_EVENT)
            self._client = session.client("stepfunctions")
            self._create_state_machine()
            stack.callback(self._delete_state_machine)
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()
        self._client = None

    def start(self, name: str, input: Mapping[str, Any]) -> ExecutionResult:
        """Run a new execution called ``name`` to its end.

        Raise `ExecutionAlreadyExistsError` if this session already ran ``name``, and
        `ExecutionDeadlineExceededError` (after stopping it) if it outlives ``timeout_s``.
        """
        validate_execution_name(name)
        if name in self._results:
            previous = self._results[name]
            raise ExecutionAlreadyExistsError(
                f"execution name {name!r} was already used on {self._name} "
                f"({previous.status}: {previous.execution_arn}); an execution name is unique "
                "per state machine, use redrive() to re-run a failed one"
            )
        return self._run(name, json.dumps(dict(input)))

    def redrive(self, name: str) -> ExecutionResult:
        """Re-run a FAILED, TIMED_OUT or ABORTED execution with its name and input.

        The run starts from the first state: every handler runs again.
        """
        previous = self._results.get(name)
        if previous is None or previous.status not in REDRIVABLE_STATUSES:
            found = "never ran" if previous is None else f"ended {previous.status}"
            raise ExecutionNotRedrivableError(
                f"only a {', '.join(sorted(REDRIVABLE_STATUSES))} execution can be redriven; "
                f"{name!r} {found} on {self._name}"
            )
        # Step Functions keeps each name once per state machine; recreating the machine
        # (same name, so same execution ARN) lets moto accept the name again, while this
        # session keeps refusing names that succeeded.
        self._delete_state_machine()
        self._create_state_machine()
        return self._run(name, self._inputs[name])

    def _run(self, name: str, input_json: str) -> ExecutionResult:
        client = self._require_client()
        try:
            started = client.start_execution(
                stateMachineArn=self._state_machine_arn, name=name, input=input_json
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                raise ExecutionAlreadyExistsError(str(error)) from error
            raise
        arn = str(started["executionArn"])
        self._inputs[name] = input_json
        description = self._await_end(arn)
        result = ExecutionResult(
            execution_arn=arn,
            name=name,
            status=str(description["status"]),
            output=decode_json(description.get("output")),
            error=description.get("error"),
            cause=description.get("cause"),
            history=self._history(arn),
        )
        self._results[name] = result
        return result

    def _await_end(self, arn: str) -> DescribeExecutionOutputTypeDef:
        client = self._require_client()
        deadline = time.monotonic() + self._timeout_s
        pause = 0.002
        while True:
            description = client.describe_execution(executionArn=arn)
            if description["status"] != "RUNNING":
                return description
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(pause, remaining))
            # each poll costs the interpreter's threads CPU (a big execution's history is
            # long): back off to a quarter of a second
            pause = min(pause * 2, 0.25)
        client.stop_execution(
            executionArn=arn, error="Local.DeadlineExceeded", cause="runner deadline"
        )
        history = self._history(arn)
        name = arn.rsplit(":", 1)[-1]
        self._results[name] = ExecutionResult(arn, name, "ABORTED", None, None, None, history)
        entered = [e.state_name for e in history if e.type.endswith("StateEntered")]
        raise ExecutionDeadlineExceededError(
            f"execution {arn} still running after {self._timeout_s:g} s (deadline); stopped "
            f"it. States entered: {entered}",
            history,
        )

    def _history(self, arn: str) -> list[HistoryEvent]:
        paginator = self._require_client().get_paginator("get_execution_history")
        raw: Sequence[Mapping[str, Any]]
        try:
            raw = [
                event for page in paginator.paginate(executionArn=arn) for event in page["events"]
            ]
        except TypeError:
            # moto 5.2 sometimes records a malformed integer field when a Parallel branch
            # fails while a sibling Map is mid-iteration, and its API serializer then
            # crashes. Read the events from its backend instead and drop such fields.
            raw = backend_history(arn)
        return parse_history(raw)

    def _create_state_machine(self) -> None:
        client = self._require_client()
        try:
            created = client.create_state_machine(
                name=self._name,
                definition=json.dumps(self._definition),
                roleArn=f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/{self._name}-role",
                type="STANDARD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "InvalidDefinition":
                raise DefinitionError(error.response["Error"]["Message"]) from error
            raise
        self._state_machine_arn = str(created["stateMachineArn"])

    def _delete_state_machine(self) -> None:
        self._require_client().delete_state_machine(stateMachineArn=self._state_machine_arn)

    def _require_client(self) -> SFNClient:
        if self._client is None:
            raise RuntimeError("use LocalStepFunctions as a context manager: `with ... as sfn:`")
        return self._client


def run_state_machine(
    definition: str | Mapping[str, Any],
    substitutions: Mapping[str, str],
    handlers: Mapping[str, LambdaHandler],
    input: Mapping[str, Any],
    execution_name: str,
    *,
    time_scale: float = 0.0,
    timeout_s: float = 600,
    lambda_timeouts: Mapping[str, float] | None = None,
) -> ExecutionResult:
    """Run one execution of ``definition`` in a fresh offline session and return its result.

    ``substitutions`` fill the definition's ``${Key}`` placeholders; ``handlers`` map a
    function ARN or name to its handler; ``time_scale`` multiplies Wait/Retry sleeps
    (0 skips them); ``timeout_s`` bounds the whole run; ``lambda_timeouts`` give each
    function's timeout (by name or ARN) to its Lambda contexts. The call returns once
    no handler is running any more (at most ``timeout_s`` after the execution ended).
    """
    with LocalStepFunctions(
        definition,
        substitutions,
        handlers,
        time_scale=time_scale,
        timeout_s=timeout_s,
        lambda_timeouts=lambda_timeouts,
    ) as session:
        result = session.start(execution_name, input)
        session.lambdas.wait_idle(timeout_s)
        return result

"""template.yaml, samconfig.toml and the layers: what a deploy needs, checked offline.

cfn-lint and `sam validate` check the CloudFormation grammar; these tests check the
project's own rules: names, least privilege, the ledger's keys, private buckets, the
schedule, the alarms, settings that exist, and a shared layer that carries every
package a handler imports on Lambda and nothing the managed layers already provide.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shlex
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alchemiser.cycle.models import CycleOptions
from alchemiser.local.template import load_template
from alchemiser.settings import Runtime, Settings
from tests.conftest import REPO_ROOT

STAGES = ("dev", "staging", "prod")
LIBRARY_ROOT = REPO_ROOT / "layers" / "shared"
SAMPLE_PARAMETERS = {
    "Stage": "dev",
    "NotifyFrom": "alchemiser@example.com",
    "NotifyTo": "trader@example.com",
    "AlpacaSecretName": "alchemiser/dev/alpaca",
    "LedgerTable": "alchemiser-dev-ledger",
    "DataBucket": "alchemiser-dev-data-123456789012-us-east-1",
    "ReportsBucket": "alchemiser-dev-reports-123456789012-us-east-1",
}
# Distributions Lambda has without our layer (layers/shared/requirements.txt says where from).
LAMBDA_RUNTIME = {
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "python-dateutil",
    "six",
}
# Our layers whose requirements.txt layers/Makefile installs (the SharedLayer adds alchemiser).
OUR_LAYERS = {
    "SharedLayer": "shared",
    "PandasLayer": "pandas",
    "ParquetLayer": "parquet",
    "ChartsLayer": "charts",
}
POWERTOOLS_LAYER = {"aws-lambda-powertools", "pydantic", "pydantic-core", "annotated-types"}
POWERTOOLS_LAYER |= {"aws-xray-sdk", "wrapt", "typing-extensions"}


def normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def provided_on_lambda() -> set[str]:
    """Return the distributions the Lambda runtime and the managed Powertools layer provide."""
    return {normalise(d) for d in LAMBDA_RUNTIME | POWERTOOLS_LAYER}


def requirement_names(layer: str = "shared") -> dict[str, str]:
    """Map each distribution pinned in layers/<layer>/requirements.txt to its line."""
    path = REPO_ROOT / "layers" / layer / "requirements.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    pins = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return {normalise(re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0]): line for line in pins}


def our_layer_pins() -> dict[str, dict[str, str]]:
    """Map each of our layers to its pinned distributions."""
    return {logical_id: requirement_names(folder) for logical_id, folder in OUR_LAYERS.items()}


def effective_function(template: dict[str, Any], function: dict[str, Any]) -> dict[str, Any]:
    """Return a function's properties with the Globals it does not override."""
    return {**template["Globals"]["Function"], **function["Properties"]}


def resolve(value: Any, template: dict[str, Any]) -> str:
    """Resolve !Ref to a sample stage's value or the parameter's default (for settings checks)."""
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        return str(SAMPLE_PARAMETERS.get(name, template["Parameters"].get(name, {}).get("Default")))
    assert isinstance(value, str | int), f"cannot resolve {value!r}"
    return str(value)


def name_properties(template: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """Yield (logical id, property, text) for every resource name the template sets."""
    keys = (
        "FunctionName",
        "TableName",
        "BucketName",
        "Name",
        "LayerName",
        "TopicName",
        "AlarmName",
        "LogGroupName",
        "QueueName",
        "AliasName",
    )
    for logical_id, resource in template["Resources"].items():
        for key in keys:
            value = resource.get("Properties", {}).get(key)
            if value is not None:
                yield logical_id, key, value["Fn::Sub"] if isinstance(value, dict) else value


def iam_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield every IAM statement written in the template (not SAM's policy templates)."""
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        documents = [
            p for p in properties.get("Policies", []) if isinstance(p, dict) and "Statement" in p
        ]
        documents += [
            p["PolicyDocument"] for p in properties.get("Policies", []) if "PolicyDocument" in p
        ]
        documents += [properties["PolicyDocument"]] if "PolicyDocument" in properties else []
        for document in documents:
            for statement in document["Statement"]:
                yield logical_id, statement


class _Imports(ast.NodeVisitor):
    """Collect the absolute module names a file imports, outside `if TYPE_CHECKING:` blocks."""

    def __init__(self) -> None:
        self.names: list[tuple[str, bool]] = []  # (module, must exist as a module)

    def visit_If(self, node: ast.If) -> None:
        checking = isinstance(
            node.test, ast.Name | ast.Attribute
        ) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in node.orelse if checking else [*node.body, *node.orelse]:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        self.names += [(alias.name, True) for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        assert node.level == 0 and node.module, (
            f"expected absolute imports, found {ast.unparse(node)}"
        )
        self.names.append((node.module, True))
        self.names += [(f"{node.module}.{alias.name}", False) for alias in node.names]


def library_file(module: str) -> Path | None:
    base = LIBRARY_ROOT.joinpath(*module.split("."))
    candidates = [base.with_suffix(".py"), base / "__init__.py"]
    return next((c for c in candidates if c.is_file()), None)


def third_party_imports_of_handlers() -> dict[str, set[str]]:
    """Map each third-party module reachable from functions/*/app.py to its distributions."""
    todo = sorted((REPO_ROOT / "functions").glob("*/app.py"))
    seen: set[Path] = set()
    third_party: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        visitor = _Imports()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        for module, required in visitor.names:
            top = module.split(".")[0]
            if top != "alchemiser":
                third_party |= set() if top in sys.stdlib_module_names else {top}
                continue
            parts = module.split(".")
            files = [library_file(".".join(parts[:i])) for i in range(1, len(parts) + 1)]
            assert files[-1] is not None or not required, (
                f"{path} imports {module}, which does not exist"
            )
            todo += [f for f in files if f is not None]
    distributions = importlib.metadata.packages_distributions()
    return {top: {normalise(d) for d in distributions.get(top, [])} for top in sorted(third_party)}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(REPO_ROOT / "template.yaml")


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def only(template: dict[str, Any], kind: str) -> dict[str, Any]:
    found = list(of_type(template, kind).values())
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


# -- functions ---------------------------------------------------------------------------------


def test_every_function_runs_python312_on_x86_64_with_active_tracing(
    template: dict[str, Any],
) -> None:
    # Given every function with the Globals applied
    for logical_id, function in of_type(template, "AWS::Serverless::Function").items():
        properties = effective_function(template, function)

        # Then it runs the runtime the layers are built for, traced, with the handler app.lambda_handler
        assert properties["Runtime"] == "python3.12", logical_id
        assert properties["Architectures"] == ["x86_64"], logical_id
        assert properties["Tracing"] == "Active", logical_id
        assert properties["Handler"] == "app.lambda_handler", logical_id


def test_evaluate_book_has_the_gigabyte_the_engine_needs(template: dict[str, Any]) -> None:
    # Given the function that runs the symphony engine
    properties = effective_function(template, template["Resources"]["EvaluateBookFunction"])

    # Then it has at least 1 GB (the largest symphony's evaluation fits in it)
    assert properties["MemorySize"] >= 1024


def test_every_resource_name_starts_with_alchemiser_and_the_stage(template: dict[str, Any]) -> None:
    # Given every name the template gives a resource (function, table, bucket, state machine, ...)
    names = list(name_properties(template))
    named = {logical_id for logical_id, _, _ in names}

    # Then each one is alchemiser-<stage>-... (log groups and key aliases keep their prefix)
    wrong = [
        (i, text)
        for i, _, text in names
        if not re.match(r"^(/aws/[a-z/]+/|alias/)?alchemiser-\$\{Stage\}-", text)
    ]
    assert wrong == []
    # and none of the resources that must be named is left to a generated name
    kinds = (
        "AWS::Serverless::Function",
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::Serverless::StateMachine",
    )
    unnamed = [k for kind in kinds for k in of_type(template, kind) if k not in named]
    assert unnamed == []


# -- least privilege -------------------------------------------------------------------------------


def test_no_statement_allows_every_action(template: dict[str, Any]) -> None:
    # Given every IAM statement written in the template (policies, roles, bucket policies)
    for where, statement in iam_statements(template):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]

        # Then no Allow grants "*" as an action, least of all on "*"
        assert not (statement["Effect"] == "Allow" and "*" in actions), f"{where}: Action '*'"
        assert not ("*" in actions and "*" in resources), f"{where}: Action '*' on Resource '*'"


def test_function_policies_are_policy_templates_or_statements_never_managed_policies(
    template: dict[str, Any],
) -> None:
    # Given every function's and the state machine's Policies
    resources = of_type(template, "AWS::Serverless::Function") | of_type(
        template, "AWS::Serverless::StateMachine"
    )
    for logical_id, resource in resources.items():
        # Then each entry is a SAM policy template or an inline Statement, not a managed policy by name
        for policy in resource["Properties"]["Policies"]:
            assert isinstance(policy, dict), f"{logical_id}: managed policy {policy!r}"


def test_email_can_only_be_sent_from_notify_from_to_notify_to(template: dict[str, Any]) -> None:
    # Given every statement that lets a function send email
    sending = [s for _, s in iam_statements(template) if "ses:SendEmail" in str(s["Action"])]

    # Then there are some, each restricted to the NotifyFrom address and the NotifyTo recipient
    # (every recipient of the message must be one of the listed ones)
    assert sending
    for statement in sending:
        assert statement["Condition"]["StringEquals"]["ses:FromAddress"] == {"Ref": "NotifyFrom"}
        recipients = statement["Condition"]["ForAllValues:StringEquals"]["ses:Recipients"]
        assert recipients == [{"Ref": "NotifyTo"}]


# -- state -------------------------------------------------------------------------------------------


def test_ledger_table_has_the_keys_index_and_ttl_of_the_ledger(template: dict[str, Any]) -> None:
    # Given the ledger table
    table = only(template, "AWS::DynamoDB::Table")
    properties = table["Properties"]

    # Then pk/sk strings key it, gsi1 projects everything on gsi1pk/gsi1sk, ttl expires items
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {
        (a["AttributeName"], a["AttributeType"]) for a in properties["AttributeDefinitions"]
    } == {("pk", "S"), ("sk", "S"), ("gsi1pk", "S"), ("gsi1sk", "S")}
    assert properties["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "gsi1",
            "KeySchema": [
                {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    # and it is on-demand, recoverable, encrypted, and survives a stack deletion or replacement
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_buckets_are_private_encrypted_owner_enforced_and_tls_only(
    template: dict[str, Any],
) -> None:
    policies = {
        p["Properties"]["Bucket"]["Ref"]: p
        for p in of_type(template, "AWS::S3::BucketPolicy").values()
    }
    for logical_id, bucket in of_type(template, "AWS::S3::Bucket").items():
        # Given a bucket
        properties = bucket["Properties"]

        # Then public access is blocked four ways, objects belong to the bucket owner, SSE is on
        assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}, logical_id
        assert len(properties["PublicAccessBlockConfiguration"]) == 4, logical_id
        assert properties["OwnershipControls"]["Rules"] == [
            {"ObjectOwnership": "BucketOwnerEnforced"}
        ], logical_id
        rule = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}, (
            logical_id
        )
        # and its policy denies every request that does not use TLS
        statements = policies[logical_id]["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        ), logical_id


def test_both_buckets_are_versioned_and_reports_expire_after_the_retention(
    template: dict[str, Any],
) -> None:
    # Given the two buckets
    data = template["Resources"]["DataBucket"]["Properties"]
    reports = template["Resources"]["ReportsBucket"]["Properties"]

    # Then price objects and reports keep their versions (an overwrite or a delete is undone)
    assert data["VersioningConfiguration"] == {"Status": "Enabled"}
    assert reports["VersioningConfiguration"] == {"Status": "Enabled"}
    # and reports expire after ReportsRetentionDays, their old versions and markers too
    rules = [r for r in reports["LifecycleConfiguration"]["Rules"] if r["Status"] == "Enabled"]
    expiring = [r for r in rules if "ExpirationInDays" in r]
    assert [r["ExpirationInDays"] for r in expiring] == [{"Ref": "ReportsRetentionDays"}]
    assert expiring[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    assert any(r.get("ExpiredObjectDeleteMarker") is True for r in rules)


# -- the schedule, the state machine, the alarms ------------------------------------------------------


def test_the_schedule_starts_the_cycle_every_morning_in_new_york(
    template: dict[str, Any],
) -> None:
    # Given the schedule and its parameters
    schedule = only(template, "AWS::Scheduler::Schedule")["Properties"]
    parameters = template["Parameters"]

    # Then it starts the state machine every day (PlanCycle ends weekends and holidays as
    # closed, and the no-cycle alarm expects a decided day every day) at 09:00 New York
    # time, with an empty input
    assert schedule["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    assert parameters["ScheduleExpression"]["Default"] == "cron(0 9 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimezone"}
    assert parameters["ScheduleTimezone"]["Default"] == "America/New_York"
    assert schedule["Target"]["Arn"] == {"Ref": "DailyCycleStateMachine"}
    assert CycleOptions.model_validate_json(schedule["Target"]["Input"]) == CycleOptions()


def test_the_schedule_role_may_only_start_this_state_machine_or_dead_letter_the_start(
    template: dict[str, Any],
) -> None:
    # Given the role the schedule assumes
    schedule = only(template, "AWS::Scheduler::Schedule")["Properties"]
    role = template["Resources"][schedule["Target"]["RoleArn"]["Fn::GetAtt"][0]]["Properties"]

    # Then only EventBridge Scheduler assumes it, and it allows two actions on one resource
    # each: start this state machine, send a failed start to the schedule's own DLQ
    principals = [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]]
    assert principals == [{"Service": "scheduler.amazonaws.com"}]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": {"Ref": "DailyCycleStateMachine"},
        },
        {
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": schedule["Target"]["DeadLetterConfig"]["Arn"],
        },
    ]


def test_the_state_machine_is_standard_traced_and_logs_failures_with_their_data(
    template: dict[str, Any],
) -> None:
    # Given the state machine
    properties = only(template, "AWS::Serverless::StateMachine")["Properties"]

    # Then it is a STANDARD workflow (Wait for hours, redrive), X-Ray traced, logging its errors
    assert properties["Type"] == "STANDARD"
    assert properties["Name"] == {"Fn::Sub": "alchemiser-${Stage}-daily-cycle"}
    assert properties["Tracing"] == {"Enabled": True}
    assert properties["Logging"]["Level"] in {"ERROR", "ALL"}
    assert properties["Logging"]["IncludeExecutionData"] is True
    destination = properties["Logging"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    assert template["Resources"][destination["Fn::GetAtt"][0]]["Type"] == "AWS::Logs::LogGroup"


def test_alarms_email_failed_timed_out_and_aborted_cycles(template: dict[str, Any]) -> None:
    # Given the alarms on the state machine's executions and the topic they notify
    alarms = [
        a["Properties"]
        for a in of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["Namespace"] == "AWS/States"
    ]
    topic = only(template, "AWS::SNS::Topic")["Properties"]

    # Then each of the three ways an execution ends badly raises one, on this state machine
    assert sorted(a["MetricName"] for a in alarms) == [
        "ExecutionsAborted",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    ]
    for alarm in alarms:
        assert alarm["Namespace"] == "AWS/States"
        assert alarm["Dimensions"] == [
            {"Name": "StateMachineArn", "Value": {"Ref": "DailyCycleStateMachine"}}
        ]
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
            1,
            "GreaterThanOrEqualToThreshold",
        )
    # and the topic emails AlarmEmail
    assert topic["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]


def test_outputs_name_the_state_machine_its_console_the_table_and_the_buckets(
    template: dict[str, Any],
) -> None:
    # Given the stack's outputs
    values = {name: output["Value"] for name, output in template["Outputs"].items()}

    # Then the state machine, its console page, the table and both buckets are there
    assert values["DailyCycleStateMachineArn"] == {"Ref": "DailyCycleStateMachine"}
    assert "console.aws.amazon.com/states" in values["DailyCycleConsoleUrl"]["Fn::Sub"]
    assert values["LedgerTableName"] == {"Ref": "LedgerTable"}
    assert (values["DataBucketName"], values["ReportsBucketName"]) == (
        {"Ref": "DataBucket"},
        {"Ref": "ReportsBucket"},
    )


# -- settings -------------------------------------------------------------------------------------------


def test_every_alchemiser_variable_is_a_settings_field(template: dict[str, Any]) -> None:
    # Given the functions' ALCHEMISER_* variables
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    fields = {
        name.removeprefix("ALCHEMISER_").lower()
        for name in variables
        if name.startswith("ALCHEMISER_")
    }

    # Then each one names a field of Settings (a typo would be silently ignored)
    assert sorted(fields - set(Settings.model_fields)) == []


def test_the_environment_makes_paper_trading_aws_settings(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the functions' environment with the dev stage's values and the defaults
    for name, value in template["Globals"]["Function"]["Environment"]["Variables"].items():
        monkeypatch.setenv(name, resolve(value, template))

    # When Lambda's process reads its settings
    settings = Settings()

    # Then it runs the AWS adapters, on paper, with the strategies of the strategies layer
    assert settings.runtime is Runtime.AWS
    assert settings.paper
    assert settings.stage == SAMPLE_PARAMETERS["Stage"]
    assert settings.strategies_dir == Path("/opt/strategies")


# -- layers -------------------------------------------------------------------------------------------


def test_functions_get_the_pinned_powertools_layer_and_only_the_layers_they_need(
    template: dict[str, Any],
) -> None:
    for logical_id, function in of_type(template, "AWS::Serverless::Function").items():
        # Given a function's layers and what it needs besides the ledger, the reports and SES
        layers = function["Properties"]["Layers"]
        needs = set(function["Metadata"]["AlchemiserNeeds"])

        # Then the AWS-managed Powertools layer comes first, region-aware and pinned
        arn = layers[0]["Fn::Sub"]
        assert arn.startswith("arn:${AWS::Partition}:lambda:${AWS::Region}:"), logical_id
        assert arn.endswith(
            ":layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:${PowertoolsLayerVersion}"
        ), logical_id
        # and ours follow, the shared library after the third-party layers (a later layer
        # wins a clash in /opt), within Lambda's five
        ours = [layer["Ref"] for layer in layers[1:]]
        expected = ["PandasLayer"] if needs & {"broker", "market", "engine", "dashboard"} else []
        expected += ["ParquetLayer"] if "market" in needs else []
        expected += ["ChartsLayer"] if "dashboard" in needs else []
        expected += ["SharedLayer"]
        expected += ["StrategiesLayer"] if "engine" in needs else []
        assert ours == expected, logical_id
        assert len(layers) <= 5, logical_id


def test_makefile_layers_have_their_build_target(template: dict[str, Any]) -> None:
    for logical_id, layer in of_type(template, "AWS::Serverless::LayerVersion").items():
        # Given a layer that sam build builds with make
        assert layer["Metadata"]["BuildMethod"] == "makefile", logical_id
        makefile = (
            REPO_ROOT
            / layer["Metadata"].get("ContextPath", layer["Properties"]["ContentUri"])
            / "Makefile"
        )

        # Then the Makefile there has its build-<LogicalId> target
        assert re.search(
            rf"^build-{logical_id}:", makefile.read_text(encoding="utf-8"), re.MULTILINE
        ), makefile


def test_the_strategies_land_where_the_settings_look_for_them(template: dict[str, Any]) -> None:
    # Given the strategies layer and its build target
    layer = template["Resources"]["StrategiesLayer"]
    makefile = (REPO_ROOT / layer["Metadata"]["ContextPath"] / "Makefile").read_text(
        encoding="utf-8"
    )
    target = makefile.split("build-StrategiesLayer:", 1)[1]

    # Then strategies/ (with books.yaml) is copied to /opt/strategies, ALCHEMISER_STRATEGIES_DIR
    assert layer["Properties"]["ContentUri"].rstrip("/") == "strategies"
    assert (REPO_ROOT / "strategies" / "books.yaml").is_file()
    assert '"$(ARTIFACTS_DIR)/strategies' in target
    assert (
        template["Globals"]["Function"]["Environment"]["Variables"]["ALCHEMISER_STRATEGIES_DIR"]
        == "/opt/strategies"
    )


def test_layer_requirements_are_pinned_and_leave_out_what_lambda_already_has() -> None:
    for logical_id, pins in our_layer_pins().items():
        # Given one of our layers' requirements.txt
        # Then every line pins one exact version, and nothing comes twice from the runtime
        # or the Powertools layer (typing-extensions: the shared layer's newer one wins)
        assert pins, logical_id
        assert all(
            re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][A-Za-z0-9_.+-]*", line) for line in pins.values()
        ), pins
        assert sorted((set(pins) & provided_on_lambda()) - {normalise("typing-extensions")}) == []
    # and no function gets a distribution from two of our layers (it would carry it twice)
    pins = our_layer_pins()
    for logical_id, function in of_type(
        load_template(REPO_ROOT / "template.yaml"), "AWS::Serverless::Function"
    ).items():
        layers = [
            pins[ref["Ref"]] for ref in function["Properties"]["Layers"][1:] if ref["Ref"] in pins
        ]
        for i, first in enumerate(layers):
            for second in layers[i + 1 :]:
                assert set(first) & set(second) == set(), logical_id


def test_every_third_party_module_a_handler_imports_is_there_on_lambda() -> None:
    # Given the third-party modules reachable from functions/*/app.py through the library
    imported = third_party_imports_of_handlers()

    # When each is looked up among our layers' pins and what Lambda and Powertools provide
    available = {d for pins in our_layer_pins().values() for d in pins} | provided_on_lambda()
    missing = {
        module: sorted(dists) for module, dists in imported.items() if not (dists & available)
    }

    # Then none is missing (a missing one is an ImportModuleError on the first invocation)
    assert missing == {}


# -- samconfig.toml -----------------------------------------------------------------------------------


def deploy_parameters(stage: str) -> dict[str, Any]:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    parameters: dict[str, Any] = config[stage]["deploy"]["parameters"]
    return parameters


def overrides(stage: str) -> dict[str, str]:
    pairs = (
        item.split("=", 1) for item in shlex.split(deploy_parameters(stage)["parameter_overrides"])
    )
    return dict(pairs)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_deploys_to_its_own_stack_with_iam_capability(stage: str) -> None:
    # Given a stage's deploy settings
    settings = deploy_parameters(stage)

    # Then it is its own stack, packaged to a managed bucket, allowed to create the roles
    assert settings["stack_name"] == f"alchemiser-{stage}"
    assert settings["resolve_s3"] is True
    assert "CAPABILITY_IAM" in settings["capabilities"].split()
    assert overrides(stage)["Stage"] == stage
    # and prod shows its change set before executing it
    assert settings["confirm_changeset"] is (stage == "prod")


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_sets_every_required_parameter_to_an_allowed_value(
    stage: str, template: dict[str, Any]
) -> None:
    # Given a stage's parameter overrides and the template's parameters
    given = overrides(stage)
    parameters = template["Parameters"]

    # Then each override is a parameter, each parameter without a default is given,
    assert sorted(set(given) - set(parameters)) == []
    assert (
        sorted(p for p, spec in parameters.items() if "Default" not in spec and p not in given)
        == []
    )
    # and each value passes the parameter's own constraints
    for name, value in given.items():
        spec = parameters[name]
        assert value in [str(v) for v in spec.get("AllowedValues", [value])], (name, value)
        assert re.fullmatch(spec.get("AllowedPattern", ".*"), value), (name, value)
        if spec["Type"] == "Number":
            assert (
                spec.get("MinValue", float("-inf"))
                <= float(value)
                <= spec.get("MaxValue", float("inf"))
            ), name


def test_step_functions_reads_are_granted_only_where_a_step_needs_them(
    template: dict[str, Any],
) -> None:
    # Given every statement that allows a Step Functions action
    granted = {
        (logical_id, action): statement["Resource"]
        for logical_id, statement in iam_statements(template)
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if action.startswith("states:") and logical_id.endswith("Function")
    }
    # Then PlanCycle may ask whether an execution still runs, and NotifyFailure may read
    # where one failed, both on this stage's daily cycle only (an ARN built from names:
    # the state machine depends on the functions, so they cannot reference it)
    executions = {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
        ":execution:alchemiser-${Stage}-daily-cycle:*"
    }
    assert granted == {
        ("PlanCycleFunction", "states:DescribeExecution"): executions,
        ("NotifyFailureFunction", "states:GetExecutionHistory"): executions,
    }
    machine = only(template, "AWS::Serverless::StateMachine")["Properties"]
    assert machine["Name"] == {"Fn::Sub": "alchemiser-${Stage}-daily-cycle"}

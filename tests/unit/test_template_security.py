"""template.yaml: least privilege per function, encrypted logs, and the alarms of a stage.

Each function may do what its code does and nothing more (the ledger actions below are
read from the code paths: the ledger adapter, Powertools Idempotency, the object store);
tests/workflow/test_deployed_shape.py records the calls of real runs against the same
template. The alarms cover a day without a cycle, a run blocked by the kill switch or by
drift, and a schedule that could not start the cycle.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from alchemiser.local.template import load_template
from tests.conftest import REPO_ROOT
from tests.unit.test_template import iam_statements, of_type, only

LEDGER_ITEM_READ_WRITE = {"dynamodb:GetItem", "dynamodb:PutItem"}
SETTLE_RUN = {"dynamodb:GetItem", "dynamodb:UpdateItem"}
# Powertools Idempotency (run_once): get, put (conditional), update the result, and delete
# the record of an attempt that raised.
IDEMPOTENCY = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
TABLE_ACTIONS = {
    # runs (get, put, the stage's runs on gsi1), kill switch, books' lots and this run's
    # fills and orders (drift), equity and books kept once
    "PlanCycleFunction": IDEMPOTENCY | {"dynamodb:Query"},
    # the book's lots; its plan kept once
    "EvaluateBookFunction": IDEMPOTENCY | {"dynamodb:Query"},
    # kill switch, the planned orders; the netting kept once
    "PlanOrdersFunction": IDEMPOTENCY,
    # kill switch, the order's record
    "ExecuteOrderFunction": LEDGER_ITEM_READ_WRITE,
    # kill switch, the SELL orders' records (a Query of the run's orders); the BUY gate
    # kept once
    "CheckSellsFunction": IDEMPOTENCY | {"dynamodb:Query"},
    # kill switches, the hedge book (read); each live book's NAV for the exposure (its
    # latest snapshot, the day's transfers on gsi1)
    "HedgePlanFunction": {"dynamodb:GetItem", "dynamodb:Query"},
    # kill switches, the hedge book and its journal (one item read and written whole)
    "HedgeExecuteFunction": LEDGER_ITEM_READ_WRITE,
    # fills, lots in one transaction each (Put, Put or Delete of a sold-out position,
    # Update of the P&L), snapshots, orders, the books on gsi1
    "ReconcileFunction": IDEMPOTENCY | {"dynamodb:Query"},
    # the kill switch; settles the run with a conditional UpdateItem (Ledger.finish_run);
    # the dashboard: the stage's runs on gsi1, each run's orders and fills
    "NotifyFunction": SETTLE_RUN | {"dynamodb:Query"},
    # the run's record; releases it (Ledger.finish_run)
    "NotifyFailureFunction": SETTLE_RUN,
}
INDEX_QUERIES = {"PlanCycleFunction", "HedgePlanFunction", "ReconcileFunction", "NotifyFunction"}
TABLE = {"Fn::GetAtt": ["LedgerTable", "Arn"]}
INDEX = {"Fn::Sub": "${LedgerTable.Arn}/index/gsi1"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(REPO_ROOT / "template.yaml")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s for p in function["Properties"]["Policies"] if "Statement" in p for s in p["Statement"]
    ]


def actions_on(statements: list[dict[str, Any]], resource: Any) -> set[str]:
    return {
        action
        for s in statements
        if s["Effect"] == "Allow" and resource in as_list(s["Resource"])
        for action in as_list(s["Action"])
    }


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return of_type(template, "AWS::Serverless::Function")


# -- least privilege ----------------------------------------------------------------------------


def test_each_function_has_exactly_the_ledger_actions_its_code_paths_use(
    template: dict[str, Any],
) -> None:
    assert set(functions(template)) == set(TABLE_ACTIONS)
    for logical_id, function in functions(template).items():
        # Given a function's statements
        statements = function_statements(function)

        # Then it may do on the ledger table exactly what its code does, and query gsi1
        # only where it reads the stage's runs or the books
        assert actions_on(statements, TABLE) == TABLE_ACTIONS[logical_id], logical_id
        expected_index = {"dynamodb:Query"} if logical_id in INDEX_QUERIES else set()
        assert actions_on(statements, INDEX) == expected_index, logical_id


def test_no_function_uses_a_broad_sam_policy_template_or_scans_the_ledger(
    template: dict[str, Any],
) -> None:
    broad = {"DynamoDBCrudPolicy", "DynamoDBReadPolicy", "DynamoDBWritePolicy", "S3CrudPolicy"}
    broad |= {"S3ReadPolicy", "S3WritePolicy", "S3FullAccessPolicy"}
    for logical_id, function in functions(template).items():
        # Given a function's policies
        policies = function["Properties"]["Policies"]

        # Then none is a SAM template that grants more than the code uses (Scan, batch
        # calls, DeleteObject, ACLs...), and no statement scans or batches anything
        assert not {name for p in policies for name in p} & broad, logical_id
        actions = {a for s in function_statements(function) for a in as_list(s["Action"])}
        assert not {a for a in actions if re.search(r"Scan|Batch|\*", a)}, logical_id


def test_no_function_may_delete_objects_or_change_acls(template: dict[str, Any]) -> None:
    for logical_id, function in functions(template).items():
        # Given every S3 action a function is allowed
        actions = {
            a
            for s in function_statements(function)
            for a in as_list(s["Action"])
            if a.startswith("s3:")
        }
        # Then none deletes an object (or a version) or touches an ACL; PlanCycle included
        assert not {a for a in actions if "Delete" in a or "Acl" in a}, logical_id


def test_plan_cycle_reads_and_refreshes_prices_only_under_prices(
    template: dict[str, Any],
) -> None:
    # Given PlanCycle's S3 statements
    statements = function_statements(template["Resources"]["PlanCycleFunction"])
    s3 = [s for s in statements if any(a.startswith("s3:") for a in as_list(s["Action"]))]

    # Then it lists the data bucket under prices/, and reads and writes prices/ objects
    objects = {"Fn::Sub": "${DataBucket.Arn}/prices/*"}
    assert actions_on(s3, objects) == {"s3:GetObject", "s3:PutObject"}
    listing = [s for s in s3 if "s3:ListBucket" in as_list(s["Action"])]
    assert [s["Resource"] for s in listing] == [{"Fn::GetAtt": ["DataBucket", "Arn"]}]
    assert listing[0]["Condition"] == {"StringLike": {"s3:prefix": "prices/*"}}
    # and, besides the run's stored outputs, nothing else in S3
    runs = {"Fn::Sub": "${ReportsBucket.Arn}/runs/*"}
    assert actions_on(s3, runs) == {"s3:GetObject", "s3:PutObject"}
    assert {r for s in s3 for r in map(str, as_list(s["Resource"]))} == {
        str(objects),
        str(listing[0]["Resource"]),
        str(runs),
    }


def test_only_the_reporting_steps_write_reports_and_only_evaluate_book_traces(
    template: dict[str, Any],
) -> None:
    reports = str({"Fn::Sub": "${ReportsBucket.Arn}/reports/*"})
    traces = str({"Fn::Sub": "${ReportsBucket.Arn}/traces/*"})
    runs = str({"Fn::Sub": "${ReportsBucket.Arn}/runs/*"})
    site = str({"Fn::Sub": "${ReportsBucket.Arn}/reports/site/*"})
    rights = {
        logical_id: {
            (str(r), a)
            for s in function_statements(function)
            for r in as_list(s["Resource"])
            if "ReportsBucket" in str(r)
            for a in as_list(s["Action"])
        }
        for logical_id, function in functions(template).items()
    }
    read, write = "s3:GetObject", "s3:PutObject"
    # Every step reads and writes only the stored outputs (runs/) it uses; only Notify and
    # NotifyFailure write reports, only EvaluateBook decision traces; Notify reads the traces
    # for the dashboard and the site (its pre-signed links carry its rights)
    assert {k: v for k, v in rights.items() if v} == {
        "PlanCycleFunction": {(runs, read), (runs, write)},
        "EvaluateBookFunction": {(traces, write), (runs, read), (runs, write)},
        "PlanOrdersFunction": {(runs, read), (runs, write)},
        "ExecuteOrderFunction": {(runs, read)},
        "CheckSellsFunction": {(runs, read), (runs, write)},
        "HedgePlanFunction": {(runs, read), (runs, write)},
        "HedgeExecuteFunction": {(runs, read), (runs, write)},
        "ReconcileFunction": {(runs, read), (runs, write)},
        "NotifyFunction": {(reports, write), (runs, read), (traces, read), (site, read)},
        "NotifyFailureFunction": {(reports, write)},
    }


def test_the_alpaca_secret_is_readable_only_by_the_functions_that_call_alpaca(
    template: dict[str, Any],
) -> None:
    for logical_id, function in functions(template).items():
        # Given a function's needs and its policies
        needs = set(function["Metadata"]["AlchemiserNeeds"])
        policies = function["Properties"]["Policies"]
        secret = [p for p in policies if "AWSSecretsManagerGetSecretValuePolicy" in p]

        # Then it reads the Alpaca secret exactly when it trades or reads Alpaca data
        assert bool(secret) == bool(needs & {"broker", "market"}), logical_id
    # and the ones that only report never do (Notify builds the dashboard from the ledger)
    for logical_id in ("NotifyFunction", "NotifyFailureFunction"):
        needs = template["Resources"][logical_id]["Metadata"]["AlchemiserNeeds"]
        assert set(needs) <= {"dashboard"}, logical_id


# -- encryption -----------------------------------------------------------------------------------


def test_every_log_group_is_encrypted_with_the_stacks_rotating_key(
    template: dict[str, Any],
) -> None:
    # Given the log groups (the state machine's logs execution data) and the key
    groups = of_type(template, "AWS::Logs::LogGroup")
    key = only(template, "AWS::KMS::Key")["Properties"]

    # Then each one, the state machine's included, is encrypted with the customer key
    assert "DailyCycleLogGroup" in groups
    for logical_id, group in groups.items():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["LogsKey", "Arn"]}, logical_id
    # which rotates, and which CloudWatch Logs may use only for this stage's log groups
    assert key["EnableKeyRotation"] is True
    service = [s for s in key["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    assert [s["Principal"]["Service"] for s in service] == [
        {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}
    ]
    arns = service[0]["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert all(
        ":log-group:" in a["Fn::Sub"] and "alchemiser-${Stage}-" in a["Fn::Sub"] for a in arns
    )
    names = [g["Properties"]["LogGroupName"]["Fn::Sub"] for g in groups.values()]
    globs = [a["Fn::Sub"].split(":log-group:")[1] for a in arns]
    patterns = [".*".join(map(re.escape, glob.split("*"))) for glob in globs]
    assert all(any(re.fullmatch(p, n) for p in patterns) for n in names)
    assert not any("kms:" in str(s["Action"]) for _, s in iam_statements(template))


# -- alarms -----------------------------------------------------------------------------------------


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return of_type(template, "AWS::CloudWatch::Alarm")


def test_every_alarm_emails_the_alarm_topic(template: dict[str, Any]) -> None:
    for logical_id, alarm in alarms(template).items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id


def test_a_day_without_a_planned_cycle_raises_an_alarm(template: dict[str, Any]) -> None:
    # Given the no-cycle alarm and the schedule's default
    alarm = alarms(template)["NoCycleAlarm"]
    properties = alarm["Properties"]
    default = template["Parameters"]["ScheduleExpression"]["Default"]

    # Then it watches PlanCycle's daily count for this stage, hour by hour, and fires when
    # 26 hours in a row have none (a day is 23-25 hours apart from the next: DST, retries)
    assert (properties["Namespace"], properties["MetricName"]) == ("Alchemiser", "CyclesPlanned")
    assert {"Name": "stage", "Value": {"Ref": "Stage"}} in properties["Dimensions"]
    assert (properties["Statistic"], properties["Period"]) == ("Sum", 3600)
    assert properties["EvaluationPeriods"] == properties["DatapointsToAlarm"] == 26
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("LessThanThreshold", 1)
    assert properties["TreatMissingData"] == "breaching"  # no data is exactly the failure
    assert properties["Period"] * properties["EvaluationPeriods"] <= 7 * 24 * 3600
    # only while the schedule runs, and the schedule runs every day (weekends end as closed)
    assert alarm["Condition"] == "ScheduleEnabled"
    assert template["Conditions"]["ScheduleEnabled"] == {
        "Fn::Equals": [{"Ref": "ScheduleState"}, "ENABLED"]
    }
    assert re.fullmatch(r"cron\(\d+ \d+ \* \* \? \*\)", default)


def test_a_run_blocked_by_the_kill_switch_or_drift_raises_an_alarm(
    template: dict[str, Any],
) -> None:
    # Given the run-blocked alarm
    properties = alarms(template)["RunBlockedAlarm"]["Properties"]

    # Then it fires on any blocked run Notify reports for this stage, and stays quiet
    # when no run is reported
    assert (properties["Namespace"], properties["MetricName"]) == ("Alchemiser", "RunsBlocked")
    assert {"Name": "stage", "Value": {"Ref": "Stage"}} in properties["Dimensions"]
    assert properties["Statistic"] == "Maximum"
    assert (properties["ComparisonOperator"], properties["Threshold"]) == (
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert properties["TreatMissingData"] == "notBreaching"


def test_the_schedule_has_an_encrypted_dead_letter_queue_that_raises_an_alarm(
    template: dict[str, Any],
) -> None:
    # Given the schedule's target and its dead-letter queue
    target = only(template, "AWS::Scheduler::Schedule")["Properties"]["Target"]
    queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    queue = template["Resources"][queue_id]

    # Then it is an encrypted standard SQS queue that keeps messages two weeks
    assert queue["Type"] == "AWS::SQS::Queue"
    properties = queue["Properties"]
    assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties
    assert "FifoQueue" not in properties  # Scheduler does not deliver to FIFO queues
    assert properties["MessageRetentionPeriod"] == 14 * 24 * 3600
    # and a message in it raises an alarm
    watching = [
        a["Properties"]
        for a in alarms(template).values()
        if a["Properties"]["Namespace"] == "AWS/SQS"
    ]
    assert len(watching) == 1
    alarm = watching[0]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)

"""The notifiers: the run's email as .eml/.html files locally, and through SES (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from alchemiser.errors import TransientError
from alchemiser.notify.local import LocalNotifier
from alchemiser.notify.port import Message, Notifier
from alchemiser.notify.ses import SesNotifier

REGION = "us-east-1"
SENDER = "alchemiser@example.com"
RECIPIENTS = ("owner@example.com", "ops@example.com")
MESSAGE = Message(
    subject="[Alchemiser dev] 2026-07-31 ATTENTION: 3 book(s) (1 failed), 2 order(s)",
    text="Alchemiser dev 2026-07-31: ATTENTION\n\n- nuclear (nuclear.clj): DataError: stale SPY\n",
    html="<!DOCTYPE html><html><body><h1>ATTENTION</h1><p>nuclear — DataError</p></body></html>",
    run_id="cycle-2026-07-31-dev",
)


def parsed_email(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


# -- local -------------------------------------------------------------------------------


def test_local_notifier_writes_a_real_multipart_email_and_the_html_report(tmp_path: Path) -> None:
    # Given a local notifier on an outbox directory
    notifier: Notifier = LocalNotifier(tmp_path / "outbox", recipients=RECIPIENTS)

    # When the run's message is sent
    sent = notifier.send(MESSAGE)

    # Then <run_id>.eml is returned, and it parses as multipart/alternative: text, then HTML
    eml = tmp_path / "outbox" / "cycle-2026-07-31-dev.eml"
    assert sent == str(eml)
    email = parsed_email(eml)
    assert email.get_content_type() == "multipart/alternative"
    assert email["Subject"] == MESSAGE.subject
    assert email["To"] == "owner@example.com, ops@example.com"
    assert email["X-Alchemiser-Run-Id"] == MESSAGE.run_id
    parts = [(p.get_content_type(), p.get_content()) for p in email.iter_parts()]
    assert parts == [("text/plain", MESSAGE.text), ("text/html", MESSAGE.html + "\n")]
    # And <run_id>.html holds the report alone, for a browser
    html = tmp_path / "outbox" / "cycle-2026-07-31-dev.html"
    assert html.read_text(encoding="utf-8") == MESSAGE.html


def test_local_notifier_sending_a_run_again_rewrites_its_files(tmp_path: Path) -> None:
    # Given a run already sent
    notifier = LocalNotifier(tmp_path)
    notifier.send(MESSAGE)

    # When the same run is sent again with a newer report
    notifier.send(MESSAGE.model_copy(update={"subject": "rerun"}))

    # Then the outbox still holds one email and one report for that run: the newer ones
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cycle-2026-07-31-dev.eml",
        "cycle-2026-07-31-dev.html",
    ]
    assert parsed_email(tmp_path / "cycle-2026-07-31-dev.eml")["Subject"] == "rerun"


def test_local_notifier_echoes_a_console_summary(tmp_path: Path) -> None:
    lines: list[str] = []
    LocalNotifier(tmp_path, echo=lines.append).send(MESSAGE)
    assert lines == [
        f"{MESSAGE.subject}\n  email:  {tmp_path / 'cycle-2026-07-31-dev.eml'}\n"
        f"  report: {tmp_path / 'cycle-2026-07-31-dev.html'}"
    ]


@pytest.mark.parametrize("run_id", ["../escape", "a/b", "", "x" * 81])
def test_local_notifier_refuses_a_run_id_that_cannot_name_a_file(
    tmp_path: Path, run_id: str
) -> None:
    with pytest.raises(ValueError, match="run id must match"):
        LocalNotifier(tmp_path).send(MESSAGE.model_copy(update={"run_id": run_id}))
    assert list(tmp_path.iterdir()) == []


def test_newline_in_a_subject_cannot_add_a_header(tmp_path: Path) -> None:
    LocalNotifier(tmp_path).send(MESSAGE.model_copy(update={"subject": "run\nBcc: x@evil.test"}))
    email = parsed_email(tmp_path / "cycle-2026-07-31-dev.eml")
    assert email["Bcc"] is None
    assert email["Subject"] == "run Bcc: x@evil.test"


# -- SES ---------------------------------------------------------------------------------


@pytest.fixture
def sesv2(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("sesv2", region_name=REGION)


def sent_messages() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def test_ses_notifier_sends_the_email_from_a_verified_identity(sesv2: Any) -> None:
    # Given a verified sender identity
    sesv2.create_email_identity(EmailIdentity=SENDER)
    notifier: Notifier = SesNotifier(sesv2, SENDER, RECIPIENTS)

    # When the run's message is sent
    message_id = notifier.send(MESSAGE)

    # Then SES accepted exactly that email, from the sender to every recipient
    [delivered] = sent_messages()
    assert message_id == delivered.id
    assert delivered.source == SENDER
    assert delivered.destinations == {"ToAddresses": list(RECIPIENTS)}
    assert delivered.subject == MESSAGE.subject
    assert delivered.body == MESSAGE.html  # moto keeps the HTML body of a text+HTML email


def test_ses_notifier_sends_every_time_it_is_called(sesv2: Any) -> None:
    # Given a run's email already sent
    sesv2.create_email_identity(EmailIdentity=SENDER)
    notifier = SesNotifier(sesv2, SENDER, RECIPIENTS)
    first = notifier.send(MESSAGE)

    # When it is sent again: not spamming is the caller's decision (see notify/ses.py)
    second = notifier.send(MESSAGE)

    # Then SES sent two emails
    assert first != second
    assert len(sent_messages()) == 2


def test_ses_refusal_of_an_unverified_sender_is_not_hidden(sesv2: Any) -> None:
    notifier = SesNotifier(sesv2, "stranger@example.com", RECIPIENTS)
    with pytest.raises(ClientError, match="not verified"):
        notifier.send(MESSAGE)
    assert sent_messages() == []


def test_ses_throttling_is_a_transient_error_for_the_state_machine_to_retry() -> None:
    # Given SES answering that it is throttling
    client = boto3.client(
        "sesv2", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s"
    )
    stubber = Stubber(client)
    stubber.add_client_error(
        "send_email", service_error_code="TooManyRequestsException", http_status_code=429
    )

    # When the email is sent
    # Then a TransientError (a name the ASL Retry lists) is raised
    with stubber, pytest.raises(TransientError, match="SES throttled the email of run cycle"):
        SesNotifier(client, SENDER, RECIPIENTS).send(MESSAGE)


def test_ses_request_carries_text_html_utf8_and_the_run_tag() -> None:
    # Given a stubbed client that checks the exact request
    client = boto3.client(
        "sesv2", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s"
    )
    stubber = Stubber(client)
    body = {"Data": MESSAGE.text, "Charset": "UTF-8"}
    stubber.add_response(
        "send_email",
        {"MessageId": "0100-abc"},
        {
            "FromEmailAddress": SENDER,
            "Destination": {"ToAddresses": list(RECIPIENTS)},
            "Content": {
                "Simple": {
                    "Subject": {"Data": MESSAGE.subject, "Charset": "UTF-8"},
                    "Body": {"Text": body, "Html": {"Data": MESSAGE.html, "Charset": "UTF-8"}},
                }
            },
            "EmailTags": [{"Name": "run_id", "Value": MESSAGE.run_id}],
            "ConfigurationSetName": "alchemiser-dev",
        },
    )
    notifier = SesNotifier(client, SENDER, RECIPIENTS, configuration_set="alchemiser-dev")

    # When the email is sent
    with stubber:
        message_id = notifier.send(MESSAGE)

    # Then the request matched and SES's id is returned
    assert message_id == "0100-abc"


@pytest.mark.parametrize(
    ("sender", "recipients", "problem"),
    [("", RECIPIENTS, "sender must be"), (SENDER, (), "recipients must"), (SENDER, ("",), "recipients must")],
)  # fmt: skip
def test_ses_notifier_needs_a_sender_and_recipients(
    sender: str, recipients: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        SesNotifier(object(), sender, recipients)  # type: ignore[arg-type]

"""The notifier on AWS: one email per run through Amazon SES (API v2, SendEmail).

The message goes as SES "Simple" content with a text and an HTML body (UTF-8): SES
builds the multipart/alternative email itself. The sender must be a verified SES
identity (and, while the account is in the SES sandbox, so must the recipients).

Every ``send`` sends: SES has no idempotency key. Not spamming on a retried or re-run
Notify step is the caller's decision, made before calling ``send`` (record the SES
message id per run in the ledger, or wrap the step in Powertools idempotency keyed on
the run id, and skip when one is there). Throttling and network failures raise
TransientError so the state machine's Retry handles them; note that a retry after a
timeout whose request SES did accept sends a second copy, which is accepted here
rather than risking no email at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from botocore import exceptions as botocore_errors

from alchemiser.errors import TransientError
from alchemiser.notify.local import build_email
from alchemiser.notify.port import Message

CHARSET = "UTF-8"
_THROTTLED = ("TooManyRequestsException", "ThrottlingException", "Throttling")


class SendEmailClient(Protocol):
    """The part of a boto3 ``sesv2`` client this adapter uses."""

    def send_email(self, **kwargs: Any) -> Mapping[str, Any]: ...


class SesNotifier:
    """Send the run's email from ``sender`` to ``recipients`` with SES v2."""

    def __init__(
        self,
        client: SendEmailClient,
        sender: str,
        recipients: Sequence[str],
        *,
        configuration_set: str | None = None,
    ) -> None:
        if not sender:
            raise ValueError("sender must be a verified SES identity, was empty")
        if not recipients or not all(recipients):
            raise ValueError(f"recipients must be non-empty addresses, were {list(recipients)}")
        self._client = client
        self.sender = sender
        self.recipients = tuple(recipients)
        self.configuration_set = configuration_set

    def send(self, message: Message) -> str:
        """Send the email (every call sends one); return the SES message id."""
        request: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": list(self.recipients)},
            "Content": {
                "Simple": {
                    "Subject": {"Data": " ".join(message.subject.split()), "Charset": CHARSET},
                    "Body": {
                        "Text": {"Data": message.text, "Charset": CHARSET},
                        "Html": {"Data": message.html, "Charset": CHARSET},
                    },
                }
            },
            "EmailTags": [{"Name": "run_id", "Value": message.run_id}],
        }
        if message.images:
            # SES "Simple" content has no inline images: send the MIME message itself.
            raw = build_email(message, self.sender, self.recipients).as_bytes()
            request["Content"] = {"Raw": {"Data": raw}}
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            response = self._client.send_email(**request)
        except botocore_errors.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _THROTTLED:
                raise TransientError(
                    f"SES throttled the email of run {message.run_id}: {error}"
                ) from error
            raise
        except (botocore_errors.ConnectionError, botocore_errors.HTTPClientError) as error:
            raise TransientError(
                f"SES did not answer for the email of run {message.run_id}: {error}"
            ) from error
        return str(response["MessageId"])

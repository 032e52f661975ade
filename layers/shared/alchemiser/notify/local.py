"""The notifier on one machine: the run's email as files in an outbox directory.

``send`` writes ``<run_id>.eml`` (a real MIME ``multipart/alternative`` email with a
plain-text and an HTML part, which any mail client opens; its inline images inside a
``multipart/related`` HTML part) and ``<run_id>.html`` (the HTML alone, for a browser,
its images beside it as ``<run_id>.<n>.png``), each atomically (through ``LocalObjectStore``), and
returns the .eml path. Sending the
same run again rewrites the same two files, so a re-run never piles up messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from alchemiser.cycle.models import RUN_ID_PATTERN
from alchemiser.notify.port import Message
from alchemiser.storage.local import LocalObjectStore

LOCAL_SENDER = "alchemiser@localhost"
LOCAL_RECIPIENT = "you@localhost"
MESSAGE_ID_DOMAIN = "alchemiser.local"
# Header lines up to RFC 5322's hard limit (998) instead of folding at 78: CPython folds
# some subjects right after "Subject:", which its own parser then reads back with a
# leading space.
EMAIL_POLICY = policy.default.clone(max_line_length=998)


def build_email(message: Message, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """Return the message as a multipart/alternative email: text first, HTML preferred.

    With inline images the HTML part becomes multipart/related: the HTML, then each PNG
    under its Content-ID (what ``<img src="cid:...">`` refers to).
    """
    if not recipients:
        raise ValueError("recipients must name at least one address, was empty")
    email = EmailMessage(policy=EMAIL_POLICY)
    # Header values must be one line: a newline in a subject would start a new header.
    email["Subject"] = " ".join(message.subject.split())
    email["From"] = sender
    email["To"] = ", ".join(recipients)
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = make_msgid(idstring=message.run_id, domain=MESSAGE_ID_DOMAIN)
    email["X-Alchemiser-Run-Id"] = message.run_id
    email.set_content(message.text, subtype="plain", charset="utf-8")
    email.add_alternative(message.html, subtype="html", charset="utf-8")
    if message.images:
        html_part = next(
            part for part in email.iter_parts() if part.get_content_type() == "text/html"
        )
        assert isinstance(html_part, EmailMessage)  # parts of an EmailMessage are EmailMessages
        for image in message.images:
            html_part.add_related(
                image.png,
                maintype="image",
                subtype="png",
                cid=f"<{image.cid}>",
                filename=image.filename,
                disposition="inline",
            )
    return email


class LocalNotifier:
    """Write each run's email and HTML report into ``outbox``; optionally echo a summary."""

    def __init__(
        self,
        outbox: Path,
        *,
        sender: str = LOCAL_SENDER,
        recipients: Sequence[str] = (LOCAL_RECIPIENT,),
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.outbox = Path(outbox)
        self.sender = sender
        self.recipients = tuple(recipients)
        self.echo = echo

    def send(self, message: Message) -> str:
        """Write ``<run_id>.eml`` and ``<run_id>.html``; return the .eml path."""
        if not re.fullmatch(RUN_ID_PATTERN, message.run_id):
            raise ValueError(
                f"run id must match {RUN_ID_PATTERN} to name the outbox files, "
                f"was {message.run_id!r}"
            )
        email = build_email(message, self.sender, self.recipients)
        files = LocalObjectStore(self.outbox)
        eml = files.put_bytes(f"{message.run_id}.eml", email.as_bytes(), "message/rfc822")
        page = message.html
        for number, image in enumerate(message.images, start=1):
            # The browser copy shows each inline image from a file beside it.
            name = f"{message.run_id}.{number}.png"
            files.put_bytes(name, image.png, "image/png")
            page = page.replace(f"cid:{image.cid}", name)
        html = files.put_bytes(
            f"{message.run_id}.html", page.encode("utf-8"), "text/html; charset=utf-8"
        )
        if self.echo is not None:
            self.echo(f"{message.subject}\n  email:  {eml}\n  report: {html}")
        return eml

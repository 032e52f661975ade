"""The run's email with its summary and inline chart: MIME structure, locally and on SES."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from alchemiser.analytics.dashboard import BenchmarkPrices
from alchemiser.analytics.live_series import BookDay, LiveHistory, RunDay
from alchemiser.notify.local import LocalNotifier, build_email
from alchemiser.notify.port import Message
from alchemiser.notify.ses import SesNotifier
from alchemiser.reporting.digest import CHART_CID, build_digest

D = Decimal
REGION = "us-east-1"
SENDER = "alchemiser@example.com"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def book(book_id: str, equity: str) -> BookDay:
    return BookDay(
        book_id=book_id,
        strategy=f"{book_id}.clj",
        status="traded",
        reason="",
        capital=D(1000),
        plan_cash=D(1000),
        equity=D(equity),
        cash=D(0),
        positions={},
        prices={},
        target_weights={},
        trace="",
    )


def history() -> LiveHistory:
    day = RunDay(
        run_id="cycle-2024-03-11-dev",
        trading_date=date(2024, 3, 11),
        status="completed",
        message="",
        account_equity=D(2000),
        books=(book("nuclear", "990"), book("a-book-with-a-long-name-for-phones", "1020")),
        orders=(),
        fills=(),
        warnings=(),
    )
    return LiveHistory("dev", (day,))


def spy() -> BenchmarkPrices:
    dates = np.array(["2024-03-08", "2024-03-11"], dtype="datetime64[D]")
    return BenchmarkPrices("SPY", dates, np.array([500.0, 505.0]))


def message() -> Message:
    digest = build_digest(history(), spy(), "https://example.com/site/index.html?X-Amz-Signature=a")
    return Message(
        subject="[Alchemiser dev] 2024-03-11 OK",
        text=digest.text,
        html=f"<html><body>{digest.html}</body></html>",
        run_id="cycle-2024-03-11-dev",
        images=digest.images,
    )


def parts(email: EmailMessage) -> list[tuple[str, str | None]]:
    return [(part.get_content_type(), part.get("Content-ID")) for part in email.walk()]


def test_the_digest_says_each_books_day_and_nav_and_links_the_dashboard() -> None:
    digest = build_digest(history(), spy(), "https://example.com/site/index.html")
    assert "Account NAV $2,010.00: 0.50 % today" in digest.text
    assert "nuclear" in digest.text and "-1.00 %" in digest.text and "$990.00" in digest.text
    assert 'href="https://example.com/site/index.html"' in digest.html
    assert f'src="cid:{CHART_CID}"' in digest.html
    [image] = digest.images
    assert image.png.startswith(PNG_SIGNATURE)
    assert len(image.png) < 60_000  # small enough for any mailbox


def test_the_email_is_alternative_text_and_related_html_with_the_chart_inline() -> None:
    email = build_email(message(), SENDER, ["owner@example.com"])
    parsed = message_from_bytes(email.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parts(parsed) == [
        ("multipart/alternative", None),
        ("text/plain", None),
        ("multipart/related", None),
        ("text/html", None),
        ("image/png", f"<{CHART_CID}>"),
    ]
    image = next(p for p in parsed.walk() if p.get_content_type() == "image/png")
    assert image.get_content_disposition() == "inline"
    assert image.get_content().startswith(PNG_SIGNATURE)


def test_the_local_outbox_shows_the_chart_in_a_browser_too(tmp_path: Path) -> None:
    LocalNotifier(tmp_path).send(message())
    page = (tmp_path / "cycle-2024-03-11-dev.html").read_text()
    assert 'src="cycle-2024-03-11-dev.1.png"' in page
    assert (tmp_path / "cycle-2024-03-11-dev.1.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.fixture
def sesv2(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("sesv2", region_name=REGION)


def test_ses_sends_an_email_with_an_inline_chart_as_raw_mime(sesv2: Any) -> None:
    # Given a verified sender
    sesv2.create_email_identity(EmailIdentity=SENDER)

    # When the email with its chart is sent
    SesNotifier(sesv2, SENDER, ["owner@example.com"]).send(message())

    # Then SES received the MIME message itself, the chart inside it
    [delivered] = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    raw = delivered.raw_data
    parsed = message_from_bytes(
        raw.encode() if isinstance(raw, str) else raw, policy=policy.default
    )
    assert isinstance(parsed, EmailMessage)
    assert ("image/png", f"<{CHART_CID}>") in parts(parsed)
    assert parsed["From"] == SENDER


def test_a_local_dashboard_is_linked_as_a_file_even_from_a_relative_home() -> None:
    digest = build_digest(history(), None, ".alchemiser/tour/reports/site/index.html", chart=False)
    link = re.search(r'href="([^"]+)"', digest.html)
    assert link is not None
    assert link.group(1).startswith("file:///")
    assert link.group(1).endswith("/.alchemiser/tour/reports/site/index.html")

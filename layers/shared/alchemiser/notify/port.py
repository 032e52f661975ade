"""The notifier port: SES email on AWS; .eml/.html files plus a console summary locally."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str
    text: str
    html: str
    run_id: str


class Notifier(Protocol):
    def send(self, message: Message) -> str:
        """Deliver the message; return its id (SES message id, or the .eml path)."""
        ...

"""The notifier port: SES email on AWS; .eml/.html files plus a console summary locally."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class InlineImage(BaseModel):
    """A PNG shown inside the HTML part, which refers to it as ``cid:<cid>``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cid: str = Field(pattern=r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+$")
    png: bytes
    filename: str


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str
    text: str
    html: str
    run_id: str
    images: tuple[InlineImage, ...] = ()


class Notifier(Protocol):
    def send(self, message: Message) -> str:
        """Deliver the message; return its id (SES message id, or the .eml path)."""
        ...

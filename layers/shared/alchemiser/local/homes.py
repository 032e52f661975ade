"""Where a local run keeps its simulated account: the home directory.

One home holds one simulated account, its ledger, reports and histories. An account
opened on the synthetic demo market must not be replayed on real prices (its positions
would be valued at prices they were never bought at), and a replay must not go back
before a day already traded. So, unless ``--home DIR`` (or ``ALCHEMISER_HOME``) names
one, each data source gets its own home under ``./.alchemiser/``:

* ``.alchemiser/demo/``              the synthetic demo market;
* ``.alchemiser/<folder>-<hash>/``   a price directory (``<hash>``: 8 hex digits of its
  absolute path, so two folders with the same name never share an account).

``<home>/home.json`` records what the account was opened with (its data source and
opening cash); a run on another data source, or a different ``--cash``, is refused
with the option that fixes it. This module only reads and writes that record: it is
imported by ``kill-switch`` too, which must start fast.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

DEFAULT_ROOT = Path(".alchemiser")
RECORD = "home.json"
BROKER_FILE = "broker.sqlite3"
SYNTHETIC_SOURCE = "synthetic"
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


class HomeError(ValueError):
    """The home directory cannot hold this run (wrong kind of path, another data source)."""


@dataclass(frozen=True)
class HomeRecord:
    """What a home's account was opened with."""

    data_source: str  # SYNTHETIC_SOURCE, or the price directory's absolute path
    opening_cash: Decimal


def source_key(data_dir: Path | None) -> str:
    """Return how a data source is recorded: ``synthetic`` or the directory's absolute path."""
    return SYNTHETIC_SOURCE if data_dir is None else str(data_dir.resolve())


def describe_source(key: str) -> str:
    return "the synthetic demo market" if key == SYNTHETIC_SOURCE else f"the prices in {key}"


def default_home(data_dir: Path | None, root: Path = DEFAULT_ROOT) -> Path:
    """Return the default home of a data source: ``demo``, or ``<folder>-<hash>`` under ``root``."""
    if data_dir is None:
        return root / "demo"
    resolved = data_dir.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    name = _SLUG.sub("-", resolved.name).strip("-.") or "data"
    return root / f"{name}-{digest}"


def require_home_directory(home: Path) -> None:
    """Raise HomeError unless ``home`` is a directory or does not exist yet."""
    if home.exists() and not home.is_dir():
        raise HomeError(
            f"{home}: is a file (expected a home directory for the simulated account; "
            "pass --home DIR with a directory)"
        )


def read_record(home: Path) -> HomeRecord | None:
    """Return the home's record, or None when it has none (a new home)."""
    path = home / RECORD
    if not path.is_file():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return HomeRecord(str(body["data_source"]), Decimal(str(body["opening_cash"])))
    except (json.JSONDecodeError, KeyError, TypeError, InvalidOperation) as exc:
        raise HomeError(
            f"{path}: not a home record (expected JSON with data_source and opening_cash; "
            f"{type(exc).__name__}): use another home with --home DIR"
        ) from None


def open_home(
    home: Path, data_dir: Path | None, cash: Decimal | None, default_cash: Decimal
) -> HomeRecord:
    """Check that ``home`` can hold a run on ``data_dir``; record a new account's opening.

    ``cash`` is the opening cash asked for (``--cash``): it may only differ from the
    recorded one while the home has no account yet. Return the home's record.
    """
    require_home_directory(home)
    source = source_key(data_dir)
    record = read_record(home)
    account_exists = (home / BROKER_FILE).exists()
    if record is not None and account_exists:
        _check_same_account(home, record, source, cash)
        return record
    if account_exists:  # a home made before records existed: nothing to check against
        if cash is not None:
            raise HomeError(
                f"--cash {cash}: the account in {home} already exists, and opening cash is "
                "set only when a home is created: pass --home DIR for a new home"
            )
        return HomeRecord(source, default_cash)
    record = HomeRecord(source, default_cash if cash is None else cash)
    _write_record(home, record)
    return record


def _check_same_account(home: Path, record: HomeRecord, source: str, cash: Decimal | None) -> None:
    if record.data_source != source:
        raise HomeError(
            f"the account in {home} trades on {describe_source(record.data_source)}, not "
            f"{describe_source(source)}: pass --home DIR for a separate account (without "
            f"--home, each data source has its own home under {DEFAULT_ROOT}/)"
        )
    if cash is not None and cash != record.opening_cash:
        raise HomeError(
            f"--cash {cash}: the account in {home} was opened with ${record.opening_cash:,.2f}, "
            "and opening cash is set only when a home is created: pass --home DIR for a new home"
        )


def _write_record(home: Path, record: HomeRecord) -> None:
    home.mkdir(parents=True, exist_ok=True)
    body = {"data_source": record.data_source, "opening_cash": str(record.opening_cash)}
    partial = home / f"{RECORD}.partial"
    partial.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    partial.replace(home / RECORD)  # atomic: a crash never leaves half a record

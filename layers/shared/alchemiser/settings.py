"""All configuration, read once from the environment (prefix ``ALCHEMISER_``).

This is the only module that reads ``os.environ``. Defaults are the safe ones: a
local run on the simulated broker, Alpaca paper trading unless ``ALCHEMISER_LIVE``
is explicitly true, trading limits on, secrets masked in ``repr``.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alchemiser.cycle.timeouts import walk_budget_s


class Runtime(StrEnum):
    LOCAL = "local"  # embedded adapters: simulated broker, SQLite ledger, local files
    AWS = "aws"  # Alpaca, DynamoDB, S3, SES


class Settings(BaseSettings):
    """Every setting of the system; construct once per process (or per test)."""

    model_config = SettingsConfigDict(env_prefix="ALCHEMISER_", frozen=True, extra="ignore")

    stage: str = Field("dev", pattern=r"^[a-z][a-z0-9-]{0,15}$")
    runtime: Runtime = Runtime.LOCAL

    # -- local runtime -------------------------------------------------------------
    home: Path = Path(".alchemiser")
    data_dir: Path | None = None  # None: the deterministic synthetic demo market
    strategies_dir: Path = Path("strategies")
    books_file: str = Field("books.yaml", pattern=r"^[^/\\]+\.ya?ml$")  # in strategies_dir
    sim_initial_cash: Decimal = Decimal("100000")
    sim_spread_bps: Decimal = Decimal("2")  # quoted spread around the day's price
    sim_slippage_bps: Decimal = Decimal("1")  # extra cost on every simulated fill
    sim_reject_symbols: frozenset[str] = frozenset()  # drills: the simulated broker rejects these
    sim_non_fractionable: frozenset[str] = frozenset()  # whole shares only for these

    # -- AWS runtime ---------------------------------------------------------------
    ledger_table: str = ""
    data_bucket: str = ""
    reports_bucket: str = ""
    notify_from: str = ""
    notify_to: str = ""
    alpaca_secret_name: str = ""  # Secrets Manager secret holding key id and secret
    alpaca_key_id: SecretStr | None = None  # local/testing alternative to the secret
    alpaca_secret_key: SecretStr | None = None
    live: bool = False  # Alpaca live trading; paper unless explicitly true
    http_timeout_s: float = Field(10.0, gt=0, le=60)
    # Alpaca allows 200 requests a minute per account (per API). Each Lambda process takes
    # a share: at most 8 run at once (EvaluateBooks' MaxConcurrency), 8 x 22 = 176.
    alpaca_requests_per_minute: int = Field(22, ge=10, le=200)
    alpaca_max_rate_wait_s: float = Field(60.0, gt=0, le=120)  # longer: fail the step, retry

    # -- the cycle -----------------------------------------------------------------
    minutes_before_close: int = Field(15, ge=1, le=120)

    # -- books and limits ----------------------------------------------------------
    deployment_pct: Decimal = Field(Decimal("1.0"), gt=0, le=1)
    min_trade_notional: Decimal = Field(Decimal("5"), ge=0)
    min_trade_fraction: Decimal = Field(Decimal("0.01"), ge=0, le=1)  # of a small book's capital
    # Kept back from a book's buys for its own execution costs (fills above the reference
    # price, sells below it), so that its cash does not go below zero by them.
    cost_reserve_bps: Decimal = Field(Decimal("10"), ge=0, le=500)
    drift_tolerance_notional: Decimal = Field(Decimal("1"), ge=0)
    max_order_notional: Decimal = Field(Decimal("250000"), gt=0)
    max_run_notional: Decimal = Field(Decimal("1000000"), gt=0)
    max_sell_failures: int = Field(0, ge=0)  # more SELL failures than this block the BUY phase
    kill_switch: bool = False  # stops all trading (also settable as a ledger item)
    # The hedge kill switch trips itself (no option order until switched off) after this
    # many hedge failures (refusals, broker errors) within 24 hours.
    hedge_trip_failures: int = Field(3, ge=1, le=100)

    # -- execution (walk the book) -------------------------------------------------
    limit_steps: tuple[Decimal, ...] = (
        Decimal("0"),
        Decimal("0.5"),
        Decimal("1"),
    )  # mid -> far side
    step_timeout_s: float = Field(20.0, gt=0, le=300)
    poll_interval_s: float = Field(1.0, gt=0, le=30)
    max_quote_age_s: float = Field(60.0, gt=0, le=600)  # an older quote fails the order closed
    # A quote is implausible (the order fails closed) when its spread is wider than
    # max_spread_bps of its mid, or its mid further than max_quote_deviation_bps from the
    # order's reference price (the price it was planned at).
    max_spread_bps: Decimal = Field(Decimal("100"), gt=0, le=2000)
    max_quote_deviation_bps: Decimal = Field(Decimal("500"), gt=0, le=5000)
    # A market buy may fill above the ask: its cash cap sizes it at the ask plus this much.
    market_buy_buffer_bps: Decimal = Field(Decimal("20"), ge=0, le=500)
    cancel_timeout_s: float = Field(10.0, gt=0, le=120)  # how long a cancel may take to confirm
    # Kept back from the Lambda's remaining time to record the result after the walk; it
    # also absorbs a slow last broker call (http_timeout_s) past the walk's deadline.
    walk_margin_s: float = Field(15.0, ge=1, le=300)
    close_margin_s: float = Field(120.0, ge=0, le=3600)  # no order goes out this close to the close

    @field_validator("limit_steps")
    @classmethod
    def _steps_walk_toward_the_far_side(cls, steps: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
        if not steps or any(not Decimal(0) <= s <= Decimal(1) for s in steps):
            raise ValueError(
                f"limit steps must be fractions of the spread in [0, 1], were {list(steps)}"
            )
        if list(steps) != sorted(steps):
            raise ValueError(
                f"limit steps must move from mid toward the far side, were {list(steps)}"
            )
        return steps

    @model_validator(mode="after")
    def _orders_can_go_out_before_the_close(self) -> Settings:
        if self.close_margin_s >= self.minutes_before_close * 60:
            raise ValueError(
                f"close_margin_s {self.close_margin_s:g} must be less than minutes_before_close "
                f"({self.minutes_before_close} min = {self.minutes_before_close * 60} s): the run "
                "starts that long before the close, and no order would ever go out"
            )
        return self

    @model_validator(mode="after")
    def _walk_fits_in_the_function_timeout(self) -> Settings:
        # Each step (limit steps + the market step) may wait a deadline, then as long again for a cancel.
        worst = (len(self.limit_steps) + 1) * 2 * self.step_timeout_s
        budget = walk_budget_s(self.walk_margin_s)
        if worst > budget:
            raise ValueError(
                f"walking the book may take {worst:.0f} s ({len(self.limit_steps)} limit steps + market, "
                f"{self.step_timeout_s:g} s each, twice); it must fit in {budget:g} s "
                "(the ExecuteOrder function's timeout less walk_margin_s)"
            )
        return self

    @property
    def paper(self) -> bool:
        return not self.live

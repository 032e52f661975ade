"""The hedge: block of books.yaml: the documented shape loads; every mistake is located."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.books.config import load_books, load_hedge_policy, validate_all_stages
from alchemiser.errors import ConfigurationError
from alchemiser.hedge.policy import HedgeTemplate, HedgeUnderlying
from tests.conftest import REPO_ROOT

SMALL = '(defsymphony "t" {:rebalance-frequency :daily}\n (weight-equal [(asset "SPY") (asset "TLT")]))\n'

STAGE = """\
stages:
  dev:
{hedge}    books:
      - id: alpha
        strategy: a.clj
        share: 1
  prod:
    books:
      - id: alpha
        strategy: a.clj
        share: 1
"""

ISSUE_SHAPE = """\
    hedge:
      underlying: auto          # or QQQ / SPY
      template: tail            # or spread
      protect: {move: -0.20, payoff: 0.08}
      budget: {monthly: 0.005, yearly: 0.04}
"""


def write(directory: Path, hedge: str) -> Path:
    (directory / "a.clj").write_text(SMALL, encoding="utf-8")
    path = directory / "books.yaml"
    path.write_text(STAGE.format(hedge=hedge), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        load_hedge_policy(path, "dev")
    return str(caught.value).splitlines()[1:]


def test_the_issue_shape_loads_and_a_stage_without_hedge_is_not_hedged(tmp_path: Path) -> None:
    path = write(tmp_path, ISSUE_SHAPE)
    policy = load_hedge_policy(path, "dev")
    assert policy is not None
    assert policy.underlying is HedgeUnderlying.AUTO
    assert policy.template is HedgeTemplate.TAIL
    assert (policy.protect.move, policy.protect.payoff) == (Decimal("-0.20"), Decimal("0.08"))
    assert (policy.budget.monthly, policy.budget.yearly) == (Decimal("0.005"), Decimal("0.04"))
    assert load_hedge_policy(path, "prod") is None
    assert [b.id for b in load_books(path, "dev")] == ["alpha"]


def test_the_repos_dev_stage_carries_a_policy_and_prod_does_not() -> None:
    books = REPO_ROOT / "strategies" / "books.yaml"
    dev = load_hedge_policy(books, "dev")
    assert dev is not None and dev.template is HedgeTemplate.TAIL
    assert load_hedge_policy(books, "prod") is None
    assert set(validate_all_stages(books)) == {"dev", "staging", "prod"}


def test_underlying_defaults_to_auto_when_left_out(tmp_path: Path) -> None:
    hedge = ISSUE_SHAPE.replace("      underlying: auto          # or QQQ / SPY\n", "")
    policy = load_hedge_policy(write(tmp_path, hedge), "dev")
    assert policy is not None and policy.underlying is HedgeUnderlying.AUTO


def test_every_problem_is_reported_at_its_line(tmp_path: Path) -> None:
    hedge = """\
    hedge:
      underlying: IWM
      template: collar
      protect: {move: 0.20, payoff: 0}
      budget: {monthly: 0.06, yearly: lots}
      strikes: 5
"""
    found = problems(write(tmp_path, hedge))
    assert found == [
        "books.yaml:8: unknown key 'strikes' in hedge of stage dev; expected underlying, template, protect, budget",
        "books.yaml:4: hedge of stage dev underlying must be one of auto, QQQ, SPY, was 'IWM'",
        "books.yaml:5: hedge of stage dev template must be one of tail, spread, was 'collar'",
        "books.yaml:6: hedge of stage dev protect move must be a fall in [-0.90, -0.01], was 0.20",
        "books.yaml:6: hedge of stage dev protect payoff must be a fraction of NAV in (0, 0.5], was 0",
        "books.yaml:7: hedge of stage dev budget monthly must be a fraction of NAV in (0, 0.05], was 0.06",
        "books.yaml:7: hedge of stage dev budget yearly must be a fraction of NAV in (0, 0.5], was 'lots'",
    ]


def test_missing_parts_and_a_month_above_the_year_are_reported_together(tmp_path: Path) -> None:
    hedge = "    hedge:\n      template: spread\n      budget: {monthly: 0.03, yearly: 0.02}\n"
    assert problems(write(tmp_path, hedge)) == [
        "books.yaml:4: hedge of stage dev is missing 'protect'",
        "books.yaml:5: hedge of stage dev: the monthly budget (0.03) cannot exceed the yearly one (0.02)",
    ]


def test_a_hedge_that_is_not_a_mapping_is_refused_and_validate_reports_it_too(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "    hedge: yes\n")
    assert problems(path) == [
        "books.yaml:3: hedge of stage dev must be a mapping with keys underlying, template, protect, budget"
    ]
    with pytest.raises(ConfigurationError, match="must be a mapping"):
        validate_all_stages(path)
    with pytest.raises(ConfigurationError, match="must be a mapping"):
        load_books(path, "dev")

"""books.yaml: every problem is reported at once, each at the file:line of its entry."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.books.capital_policy import (
    DEFAULT_CAPITAL_POLICY,
    CapitalPolicy,
    CapitalRebalance,
)
from alchemiser.books.config import BookConfig, load_books, load_stage, validate_all_stages
from alchemiser.errors import ConfigurationError
from tests.conftest import SYMPHONIES_DIR

SMALL = '(defsymphony "t" {:rebalance-frequency :daily}\n (weight-equal [(asset "SPY") (asset "TLT")]))\n'


def write(directory: Path, text: str, strategies: tuple[str, ...] = ("a.clj", "b.clj")) -> Path:
    for name in strategies:
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(SMALL, encoding="utf-8")
    path = directory / "books.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, stage: str | None = "dev") -> list[str]:
    """Return the located problems a stage (None: every stage) is refused with."""
    with pytest.raises(ConfigurationError) as caught:
        load_books(path, stage) if stage is not None else validate_all_stages(path)
    return str(caught.value).splitlines()[1:]


TWO_STAGES = """\
stages:
  dev:
    books:
      - id: alpha
        strategy: a.clj
        share: 0.35
      - id: beta-2
        strategy: b.clj
        share: 0.65
  prod:
    books:
      - id: alpha
        strategy: a.clj
        share: 1
"""


def test_a_valid_stage_loads_its_books_in_file_order_with_exact_shares(tmp_path: Path) -> None:
    # Given a books file with two stages
    path = write(tmp_path, TWO_STAGES)
    # When the dev stage is loaded
    books = load_books(path, "dev")
    # Then its books come back in order, shares as exact decimals
    assert books == [
        BookConfig(id="alpha", strategy="a.clj", share=Decimal("0.35")),
        BookConfig(id="beta-2", strategy="b.clj", share=Decimal("0.65")),
    ]
    assert load_books(path, "prod") == [BookConfig(id="alpha", strategy="a.clj", share=Decimal(1))]


def test_every_stage_validates_together(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_STAGES)
    assert {stage: len(books) for stage, books in validate_all_stages(path).items()} == {
        "dev": 2,
        "prod": 1,
    }


def test_an_unknown_stage_is_refused_listing_the_configured_ones(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_STAGES)
    assert problems_of(path, "qa") == [
        "books.yaml:2: stage 'qa' is not configured; configured stages: dev, prod"
    ]


def test_a_share_out_of_range_is_reported_at_its_line_with_book_and_stage(tmp_path: Path) -> None:
    # Given a share of 1.3 on line 7
    path = write(
        tmp_path,
        "stages:\n  dev:\n    books:\n      - id: gold\n        strategy: a.clj\n"
        "        share: 0.2\n      - id: gold2\n        strategy: b.clj\n        share: 1.3\n",
    )
    # When loaded / Then the message names the line, the value, the book and the stage
    assert problems_of(path) == [
        "books.yaml:9: share must be in (0, 1], was 1.3 for book 'gold2' (stage dev)"
    ]


def test_shares_summing_past_one_report_the_sum_and_each_share(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_STAGES.replace("share: 0.65", "share: 0.75"))
    assert problems_of(path) == [
        "books.yaml:4: shares of stage dev sum to 1.10, more than 1: alpha 0.35, beta-2 0.75"
    ]


def test_every_problem_of_a_stage_is_reported_together(tmp_path: Path) -> None:
    # Given a duplicate id, a bad id, a zero share, a missing key, an unknown key,
    # a strategy that does not exist and a share that is not a number
    text = """\
stages:
  dev:
    books:
      - id: alpha
        strategy: a.clj
        share: 0.1
      - id: alpha
        strategy: b.clj
        share: 0.1
      - id: Bad_Id
        strategy: a.clj
        share: 0
      - id: gamma
        share: 0.1
        weight: 2
      - id: delta
        strategy: missing.clj
        share: "0.1"
"""
    path = write(tmp_path, text)
    # When loaded
    problems = problems_of(path)
    # Then each is listed at its own line
    assert problems == [
        "books.yaml:7: duplicate book 'alpha' (stage dev); first defined on line 4",
        "books.yaml:10: book id must match ^[a-z0-9-]{1,32}$, was 'Bad_Id' (stage dev)",
        "books.yaml:12: share must be in (0, 1], was 0 for book 'Bad_Id' (stage dev)",
        "books.yaml:15: unknown key 'weight' in a book of stage dev; expected id, strategy, share, mode",
        "books.yaml:13: book of stage dev is missing 'strategy'",
        "books.yaml:18: share must be a number in (0, 1], was '0.1' for book 'delta' (stage dev)",
        f"books.yaml:17: strategy 'missing.clj' for book 'delta' (stage dev) file not found: {tmp_path / 'missing.clj'}",
    ]


def test_a_strategy_that_does_not_parse_reports_its_diagnostics(tmp_path: Path) -> None:
    # Given a strategy file with a syntax problem on its second line
    path = write(tmp_path, TWO_STAGES)
    (tmp_path / "b.clj").write_text(
        '(defsymphony "t" {}\n (weight-equal [(asset "SPY")]', encoding="utf-8"
    )
    # When the stage is loaded
    problems = problems_of(path)
    # Then the problem points at the books entry and carries the symphony's file:line:column
    assert len(problems) == 1
    assert problems[0].startswith(
        "books.yaml:8: strategy 'b.clj' for book 'beta-2' (stage dev) does not parse: b.clj:"
    )


def test_a_strategy_outside_the_books_directory_is_refused(tmp_path: Path) -> None:
    # Given a books directory whose entry points at a file one level up
    inner = tmp_path / "inner"
    inner.mkdir()
    (tmp_path / "b.clj").write_text(SMALL, encoding="utf-8")
    path = write(inner, TWO_STAGES.replace("b.clj", "../b.clj"), ("a.clj",))
    # When loaded / Then the entry is refused even though the file exists
    assert problems_of(path) == [
        f"books.yaml:8: strategy '../b.clj' for book 'beta-2' (stage dev) must be a .clj file "
        f"inside {inner}, was '../b.clj'"
    ]


def test_a_strategy_in_a_subfolder_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_STAGES.replace("b.clj", "ftlt/b.clj"), ("a.clj", "ftlt/b.clj"))
    assert [b.strategy for b in load_books(path, "dev")] == ["a.clj", "ftlt/b.clj"]


def test_all_stages_report_problems_of_every_stage(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_STAGES.replace("share: 1\n", "share: 2\n"))
    assert problems_of(path, stage=None) == [
        "books.yaml:14: share must be in (0, 1], was 2 for book 'alpha' (stage prod)"
    ]
    # the dev stage alone is still fine
    assert len(load_books(path, "dev")) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "books.yaml: empty file; expected a 'stages' mapping"),
        ("stages: [\n", "books.yaml:2: not valid YAML"),
        ("books: []\n", "books.yaml:1: unknown key 'books' in the books file; expected stages"),
        ("stages:\n  dev:\n    books: 3\n", "books.yaml:3: books of stage dev must be a list"),
        ("stages:\n  dev: {}\n  dev: {}\n", "books.yaml:3: duplicate key 'dev' in 'stages'"),
        ("stages:\n  Dev:\n    books: []\n", "books.yaml:3: stage name must match"),
    ],
)
def test_a_malformed_file_says_what_was_expected(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as caught:
        validate_all_stages(path)
    assert expected in str(caught.value)


def test_a_missing_books_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read books file"):
        load_books(tmp_path / "books.yaml", "dev")


def test_real_symphony_files_load_as_books(tmp_path: Path) -> None:
    # Given books over real symphony files (linked, not copied, into the books directory)
    names = ["gold.clj", "defence.clj", "holy_grail.clj"]
    for name in names:
        (tmp_path / name).symlink_to(SYMPHONIES_DIR / name)
    entries = "".join(
        f"      - id: {Path(n).stem.replace('_', '-')}\n        strategy: {n}\n        share: 0.3\n"
        for n in names
    )
    path = write(tmp_path, f"stages:\n  prod:\n    books:\n{entries}", ())
    # When validated / Then every book loads
    assert [b.id for b in validate_all_stages(path)["prod"]] == ["gold", "defence", "holy-grail"]


def _with_capital(value: str) -> str:
    return TWO_STAGES.replace("  prod:\n", f"    capital-rebalance: {value}\n  prod:\n")


@pytest.mark.parametrize(
    ("value", "rebalance", "threshold"),
    [
        ("none", CapitalRebalance.NONE, None),
        ("monthly", CapitalRebalance.MONTHLY, None),
        ("quarterly", CapitalRebalance.QUARTERLY, None),
        ("threshold", CapitalRebalance.THRESHOLD, Decimal("0.05")),
        ("0.1", CapitalRebalance.THRESHOLD, Decimal("0.1")),
    ],
)
def test_a_stage_reads_its_capital_policy(
    tmp_path: Path, value: str, rebalance: CapitalRebalance, threshold: Decimal | None
) -> None:
    # Given a dev stage with capital-rebalance set
    path = write(tmp_path, _with_capital(value))
    # When the stage is loaded
    stage = load_stage(path, "dev")
    # Then its policy is the one written, and its books and hedge are unchanged
    assert stage.capital == CapitalPolicy(rebalance=rebalance, threshold=threshold)
    assert [b.id for b in stage.books] == ["alpha", "beta-2"] and stage.hedge is None
    # And a stage without the key has the default: a threshold of 0.05
    assert load_stage(path, "prod").capital == DEFAULT_CAPITAL_POLICY


@pytest.mark.parametrize("value", ["weekly", "1.5", "0", "-0.05", "[0.05]", "'0.05'"])
def test_a_bad_capital_policy_is_reported_at_its_line(tmp_path: Path, value: str) -> None:
    # Given a capital-rebalance that is no policy (a quoted number is text, not a threshold)
    path = write(tmp_path, _with_capital(value))
    # Then loading the stage, or validating every stage, names the line and the choices
    shown = "a collection" if value.startswith("[") else value.strip("'")
    expected = (
        "books.yaml:10: capital-rebalance of stage dev must be none, monthly, quarterly, "
        "threshold or a threshold in (0, 1) (0.05: back to the target shares when a book "
        f"drifts more than 5 points), was '{shown}'"
    )
    assert problems_of(path) == [expected]
    assert problems_of(path, None) == [expected]


def test_a_shadow_book_is_read_and_its_share_is_not_counted_in_the_sum(tmp_path: Path) -> None:
    # Given live shares summing to 1 and a shadow book of 0.5 beside them
    path = write(
        tmp_path,
        TWO_STAGES.replace(
            "        share: 0.65\n",
            "        share: 0.65\n      - id: trial\n        strategy: a.clj\n"
            "        share: 0.5\n        mode: shadow\n",
        ),
    )
    books = {b.id: b for b in load_books(path, "dev")}
    assert books["trial"].shadow and books["trial"].mode == "shadow"
    assert not books["alpha"].shadow and books["alpha"].mode == "live"


def test_an_unknown_book_mode_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        TWO_STAGES.replace("        share: 0.65\n", "        share: 0.65\n        mode: paper\n"),
    )
    assert problems_of(path) == [
        "books.yaml:10: mode must be one of live, shadow, was 'paper' for book 'beta-2' (stage dev)"
    ]

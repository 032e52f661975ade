"""Books configuration: which strategies run in a stage, with what share of the account.

``strategies/books.yaml``::

    stages:
      dev:
        books:
          - id: nuclear            # [a-z0-9-], 1-32 characters, unique within the stage
            strategy: nuclear.clj  # a .clj file in books.yaml's directory (or a folder below it)
            share: 0.35            # in (0, 1]; a stage's live shares sum to at most 1
            mode: shadow           # optional: live (default) or shadow (virtual capital)
        hedge: ...                 # optional options hedge (alchemiser.hedge.policy)
        capital-rebalance: 0.05    # optional: none, monthly, quarterly, threshold or a
                                   # threshold in (0, 1) (alchemiser.books.capital_policy)

Every problem is collected and raised together as one ``ConfigurationError``, each
line located in the YAML (``books.yaml:7: ...``). Lines come from the composed node
tree, so the file is walked node by node rather than loaded into plain dicts; this
also catches duplicate keys, which a plain YAML load silently overwrites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath
from typing import Final, Literal, NoReturn

import yaml
from pydantic import BaseModel, ConfigDict, Field

from alchemiser.books.capital_policy import (
    DEFAULT_CAPITAL_POLICY,
    CapitalPolicy,
    CapitalRebalance,
)
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.source import SymphonyError
from alchemiser.errors import ConfigurationError
from alchemiser.hedge.policy import HedgePolicy
from alchemiser.hedge.policy_config import read_hedge_policy

BOOK_ID_PATTERN: Final = r"^[a-z0-9-]{1,32}$"
STAGE_PATTERN: Final = r"^[a-z][a-z0-9-]{0,15}$"  # as Settings.stage
_BOOK_KEYS: Final = ("id", "strategy", "share")  # required
_MODE_KEY: Final = "mode"
_BOOK_MODES: Final = ("live", "shadow")
_CAPITAL_KEY: Final = "capital-rebalance"
_STAGE_KEYS: Final = ("books", "hedge", _CAPITAL_KEY)
_NUMBER_TAGS: Final = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class BookConfig(BaseModel):
    """One book of a stage: a strategy file and its share of the account's equity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=BOOK_ID_PATTERN)
    strategy: str  # path relative to the books.yaml directory
    share: Decimal = Field(gt=0, le=1)
    # shadow: evaluated, planned and filled virtually on virtual capital (share x the
    # account's capital when it starts); never sent to the broker (README, "Books that
    # own their capital"). Shadow shares do not count toward the stage's sum.
    mode: Literal["live", "shadow"] = "live"

    @property
    def shadow(self) -> bool:
        return self.mode == "shadow"


@dataclass(frozen=True)
class StageConfig:
    """One stage of the books file: its books, its hedge (None: off) and its capital policy."""

    name: str
    books: tuple[BookConfig, ...]
    hedge: HedgePolicy | None
    capital: CapitalPolicy


class _Checker:
    """Collects located problems while walking one books file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.directory = path.parent
        self.problems: list[str] = []
        self._strategy_problems: dict[str, list[str]] = {}

    def at(self, node: yaml.Node, message: str) -> None:
        self.problems.append(f"{self.path.name}:{node.start_mark.line + 1}: {message}")

    def fail(self) -> NoReturn:
        raise ConfigurationError(
            f"{self.path} has {len(self.problems)} problem(s):\n" + "\n".join(self.problems)
        )

    def fail_if_any(self) -> None:
        if self.problems:
            self.fail()

    def mapping(self, node: yaml.Node, what: str, keys: tuple[str, ...]) -> dict[str, yaml.Node]:
        """Return a mapping node's entries by key, reporting duplicates and keys not in ``keys``.

        An empty ``keys`` accepts any key (the stage names under ``stages``).
        """
        if not isinstance(node, yaml.MappingNode):
            self.at(node, f"{what} must be a mapping with keys {', '.join(keys)}")
            return {}
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in found:
                self.at(key_node, f"duplicate key '{key}' in {what}")
            elif keys and key not in keys:
                self.at(key_node, f"unknown key '{key}' in {what}; expected {', '.join(keys)}")
            else:
                found[key] = value_node
        return found

    def strategy_problems(self, strategy: str) -> list[str]:
        """Return why a strategy file cannot be used ([] when it parses); parsed once per file."""
        if strategy not in self._strategy_problems:
            self._strategy_problems[strategy] = self._read_strategy(strategy)
        return self._strategy_problems[strategy]

    def _read_strategy(self, strategy: str) -> list[str]:
        relative = PurePosixPath(strategy)
        if relative.is_absolute() or ".." in relative.parts or relative.suffix != ".clj":
            return [f"must be a .clj file inside {self.directory}, was '{strategy}'"]
        file = self.directory / relative
        if not file.is_file():
            return [f"file not found: {file}"]
        try:
            load_symphony(file)
        except SymphonyError as error:
            return [f"does not parse: {diagnostic}" for diagnostic in error.diagnostics]
        except OSError as error:
            return [f"cannot be read: {error.strerror or error}"]
        except UnicodeDecodeError as error:
            return [f"cannot be read: {error}"]
        return []


def _compose(path: Path) -> yaml.Node:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(
            f"cannot read books file {path}: {error.strerror or error}"
        ) from error
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigurationError(f"{path.name}{line}: not valid YAML: {error.problem}") from error
    if root is None:
        raise ConfigurationError(f"{path.name}: empty file; expected a 'stages' mapping")
    return root


def _stage_nodes(checker: _Checker, root: yaml.Node) -> tuple[yaml.Node, dict[str, yaml.Node]]:
    top = checker.mapping(root, "the books file", ("stages",))
    stages_node = top.get("stages")
    if stages_node is None:
        if isinstance(root, yaml.MappingNode):
            checker.at(root, "missing key 'stages'")
        checker.fail()
    stages = checker.mapping(stages_node, "'stages'", ())
    for name, node in stages.items():
        if not re.fullmatch(STAGE_PATTERN, name):
            checker.at(node, f"stage name must match {STAGE_PATTERN}, was '{name}'")
    return stages_node, stages


def _share(checker: _Checker, node: yaml.Node, label: str) -> Decimal | None:
    text = str(node.value) if isinstance(node, yaml.ScalarNode) else "a collection"
    value: Decimal | None = None
    if isinstance(node, yaml.ScalarNode) and node.tag in _NUMBER_TAGS:
        try:
            value = Decimal(text.replace("_", ""))
        except InvalidOperation:
            value = None
    if value is None or not value.is_finite():
        checker.at(node, f"share must be a number in (0, 1], was '{text}' for {label}")
        return None
    if not Decimal(0) < value <= Decimal(1):
        checker.at(node, f"share must be in (0, 1], was {text} for {label}")
        return None
    return value


def _book_id(
    checker: _Checker, node: yaml.Node | None, stage: str, seen: dict[str, int]
) -> str | None:
    """Return a valid, not yet seen book id (recording it), or None after reporting why."""
    if node is None:
        return None
    book_id = str(node.value) if isinstance(node, yaml.ScalarNode) else ""
    if not re.fullmatch(BOOK_ID_PATTERN, book_id):
        checker.at(node, f"book id must match {BOOK_ID_PATTERN}, was '{book_id}' (stage {stage})")
        return None
    if book_id in seen:
        checker.at(
            node,
            f"duplicate book '{book_id}' (stage {stage}); first defined on line {seen[book_id]}",
        )
        return None
    seen[book_id] = node.start_mark.line + 1
    return book_id


def _entry(
    checker: _Checker, node: yaml.Node, stage: str, seen: dict[str, int]
) -> BookConfig | None:
    fields = checker.mapping(node, f"a book of stage {stage}", (*_BOOK_KEYS, _MODE_KEY))
    if not isinstance(node, yaml.MappingNode):
        return None
    for key in _BOOK_KEYS:
        if key not in fields:
            checker.at(node, f"book of stage {stage} is missing '{key}'")
    id_node = fields.get("id")
    book_id = _book_id(checker, id_node, stage, seen)
    shown = book_id or (str(id_node.value) if isinstance(id_node, yaml.ScalarNode) else "")
    label = f"book '{shown}' (stage {stage})" if shown else f"a book of stage {stage}"
    share = _share(checker, fields["share"], label) if "share" in fields else None
    strategy = _strategy(checker, fields.get("strategy"), label)
    mode = _mode(checker, fields.get(_MODE_KEY), label)
    if book_id is None or share is None or strategy is None or mode is None:
        return None
    return BookConfig(id=book_id, strategy=strategy, share=share, mode=mode)


def _mode(
    checker: _Checker, node: yaml.Node | None, label: str
) -> Literal["live", "shadow"] | None:
    if node is None:
        return "live"
    text = str(node.value) if isinstance(node, yaml.ScalarNode) else "a collection"
    if text == "live":
        return "live"
    if text == "shadow":
        return "shadow"
    checker.at(node, f"mode must be one of {', '.join(_BOOK_MODES)}, was '{text}' for {label}")
    return None


def _strategy(checker: _Checker, node: yaml.Node | None, label: str) -> str | None:
    if node is None:
        return None
    if not isinstance(node, yaml.ScalarNode) or not str(node.value):
        checker.at(node, f"strategy must be a file name for {label}")
        return None
    strategy = str(node.value)
    problems = checker.strategy_problems(strategy)
    for problem in problems:
        checker.at(node, f"strategy '{strategy}' for {label} {problem}")
    return None if problems else strategy


def _stage_books(checker: _Checker, stage: str, node: yaml.Node) -> list[BookConfig]:
    fields = checker.mapping(node, f"stage {stage}", _STAGE_KEYS)
    books_node = fields.get("books")
    if books_node is None:
        if isinstance(node, yaml.MappingNode):
            checker.at(node, f"stage {stage} is missing 'books'")
        return []
    if not isinstance(books_node, yaml.SequenceNode):
        checker.at(books_node, f"books of stage {stage} must be a list")
        return []
    seen: dict[str, int] = {}
    books = [_entry(checker, entry, stage, seen) for entry in books_node.value]
    shares = [(b.id, b.share) for b in books if b is not None and not b.shadow]
    total = sum((share for _, share in shares), Decimal(0))
    if total > 1:
        listed = ", ".join(f"{book_id} {share}" for book_id, share in shares)
        checker.at(books_node, f"shares of stage {stage} sum to {total}, more than 1: {listed}")
    return [b for b in books if b is not None]


def _stage_entry(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None  # _stage_books reports it
    return next((v for k, v in node.value if str(k.value) == key), None)


def _stage_hedge(checker: _Checker, stage: str, node: yaml.Node) -> HedgePolicy | None:
    """Return the stage's hedge policy (None: hedging off); problems go to ``checker``."""
    hedge = _stage_entry(node, "hedge")
    return None if hedge is None else read_hedge_policy(hedge, stage, checker.at)


def _stage_capital(checker: _Checker, stage: str, node: yaml.Node) -> CapitalPolicy:
    """Return the stage's capital policy (the default without the key); problems go to ``checker``."""
    value = _stage_entry(node, _CAPITAL_KEY)
    if value is None:
        return DEFAULT_CAPITAL_POLICY
    text = str(value.value) if isinstance(value, yaml.ScalarNode) else "a collection"
    if isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:str":
        if text == CapitalRebalance.THRESHOLD.value:
            return DEFAULT_CAPITAL_POLICY
        if text in {r.value for r in CapitalRebalance}:
            return CapitalPolicy(rebalance=CapitalRebalance(text))
    threshold: Decimal | None = None
    if isinstance(value, yaml.ScalarNode) and value.tag in _NUMBER_TAGS:
        try:
            threshold = Decimal(text.replace("_", ""))
        except InvalidOperation:
            threshold = None
    if threshold is not None and threshold.is_finite() and 0 < threshold < 1:
        return CapitalPolicy(rebalance=CapitalRebalance.THRESHOLD, threshold=threshold)
    checker.at(
        value,
        f"{_CAPITAL_KEY} of stage {stage} must be none, monthly, quarterly, threshold or a "
        f"threshold in (0, 1) (0.05: back to the target shares when a book drifts more "
        f"than 5 points), was '{text}'",
    )
    return DEFAULT_CAPITAL_POLICY


def _stage(checker: _Checker, path: Path, stage: str) -> StageConfig:
    stages_node, stages = _stage_nodes(checker, _compose(path))
    if stage not in stages:
        configured = ", ".join(sorted(stages)) or "none"
        checker.at(
            stages_node, f"stage '{stage}' is not configured; configured stages: {configured}"
        )
        checker.fail()
    books = _stage_books(checker, stage, stages[stage])
    hedge = _stage_hedge(checker, stage, stages[stage])
    capital = _stage_capital(checker, stage, stages[stage])
    checker.fail_if_any()
    return StageConfig(name=stage, books=tuple(books), hedge=hedge, capital=capital)


def load_stage(path: Path, stage: str) -> StageConfig:
    """Return ``stage`` of the books file; raise ConfigurationError listing every problem."""
    return _stage(_Checker(path), path, stage)


def load_books(path: Path, stage: str) -> list[BookConfig]:
    """Return the books of ``stage`` in file order; raise ConfigurationError listing every problem."""
    return list(load_stage(path, stage).books)


def load_hedge_policy(path: Path, stage: str) -> HedgePolicy | None:
    """Return the hedge policy of ``stage`` (None when it has no ``hedge:``), checking the stage."""
    return load_stage(path, stage).hedge


def validate_all_stages(path: Path) -> dict[str, list[BookConfig]]:
    """Check every stage of a books file; return each stage's books or raise with every problem."""
    checker = _Checker(path)
    _, stages = _stage_nodes(checker, _compose(path))
    books = {stage: _stage_books(checker, stage, node) for stage, node in stages.items()}
    for stage, node in stages.items():
        _stage_hedge(checker, stage, node)
        _stage_capital(checker, stage, node)
    checker.fail_if_any()
    return books

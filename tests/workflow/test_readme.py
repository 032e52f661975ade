"""The README's examples, run the way a reader runs them: in the order written.

Each test copies the checkout (git's files, modification times kept) into a temporary
directory, links the shared data beside it (so ``../shared/data`` reads the same from
the copy) and links the checkout's ``.venv`` (so ``make run`` finds it set up and does
not reinstall; the installed ``alchemiser`` is this checkout's, editable, and ``run``
executes this checkout's state machine and handlers). The blocks run in ONE bash
session, as a reader pastes them into one terminal, starting from a new terminal's
environment: no virtual environment active (the quick start's ``source
.venv/bin/activate`` is what puts ``alchemiser`` on the PATH), no ``ALCHEMISER_*``
setting. Each block must exit 0 and print or write what the README says it does
(``QUICK_START_CHECKS``, ``OTHER_CHECKS``: every block has exactly one); the first that
fails ends the session and the test names its README line.
``tests/unit/test_readme_blocks.py`` shows the parser and runner fail when a block does.

- ``test_the_quick_start_runs_in_the_order_written``: every command block under
  "## Quick start" (which opens the README).
- ``test_every_other_readme_example_runs_in_the_order_written``: the quick start's
  activation, then every other command block and the ``$ `` lines of output samples,
  in a second copy (the two tests run side by side under ``pytest -n 2``), except these
  (``EXCLUDED``; each must still be found in the README, so the list cannot go stale):

* ``make test``: it is the command that runs this test (CI runs it, ``.ci/run``).
* the engine's synopsis (``alchemiser eval FILE --date YYYY-MM-DD ...``): placeholders,
  not a command.
* ``alchemiser data pull`` and the ``validate`` of the directory it fills: they need
  Alpaca API keys and the network (``tests/integration/test_data_pull.py`` tests the
  command against Alpaca's documented answers).
* ``sam build && sam deploy``: deploys a stack to an AWS account (``make test`` runs
  ``sam build`` and ``sam validate``).

Commands quoted inline in prose (``alchemiser validate strategies/books.yaml
strategies/*.clj``, ``make bench``) are not examples the parser finds. What
``make run`` sets up on a fresh machine (``.venv``, the editable install) is not redone
here: it is the Makefile's ``$(STAMP)`` rule, which CI's ``make test`` runs first on a
clean clone (``.ci/run``).
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import DATA_DIR, REPO_ROOT
from tests.support.readme_blocks import (
    Block,
    BlockRun,
    copy_checkout,
    fresh_shell_env,
    parse_blocks,
    run_session,
    section_blocks,
)

README = REPO_ROOT / "README.md"
QUICK_START = "Quick start"
SESSION_TIMEOUT_S = 300.0

Check = Callable[[BlockRun, Path], None]

EXCLUDED = {
    "make test": "runs this very test",
    "alchemiser eval FILE --date YYYY-MM-DD": "a synopsis with placeholders",
    "alchemiser data pull --data prices": "needs Alpaca API keys and the network",
    "sam deploy": "deploys to an AWS account",
}


def _in_out(*expected: str) -> Check:
    def check(run: BlockRun, checkout: Path) -> None:
        for text in expected:
            assert text in run.stdout, f"{run.block.describe()}: no {text!r} in its output"

    return check


def _files(*paths: str) -> Check:
    def check(run: BlockRun, checkout: Path) -> None:
        for path in paths:
            assert (checkout / path).is_file(), f"{run.block.describe()}: {path} was not written"

    return check


def _all(*checks: Check) -> Check:
    def check(run: BlockRun, checkout: Path) -> None:
        for each in checks:
            each(run, checkout)

    return check


def _activated(run: BlockRun, checkout: Path) -> None:
    """Prove nothing here: the blocks after it need ``alchemiser`` on the PATH."""


def _runs_in_own_homes(run: BlockRun, checkout: Path) -> None:
    """Check the replay ran in the default home of its price directory."""
    assert "cycle-2024-03-14-dev (2024-03-14) SUCCEEDED\n" in run.stdout, run.stdout
    homes = [p.name for p in (checkout / ".alchemiser").iterdir() if p.name.startswith("prices-")]
    assert len(homes) == 1, homes


def _switched_off_and_on(run: BlockRun, checkout: Path) -> None:
    blocked, _, unblocked = run.stdout.partition("kill switch: off")
    _in_out(
        "kill switch: ON",
        "(2024-03-19) SUCCEEDED",
        "nothing traded: kill switch is on (trying the kill switch",
        "Book nuclear (nuclear_energy_rotation.clj): not traded\n  reason: not traded: kill switch is on",
        "Orders: none placed by this run",
    )(replace(run, stdout=blocked), checkout)
    assert unblocked, f"{run.block.describe()}: the switch never said it was off"
    assert "(2024-03-19) SUCCEEDED" in unblocked and "kill switch is on" not in unblocked
    assert ": filled, filled" in unblocked, (
        f"the day did not trade once the switch was off: {unblocked}"
    )


def _three_days(run: BlockRun, checkout: Path) -> None:
    """Check the README's account of the three days: all bought, then one book held."""
    days = run.stdout.split("The Alchemiser daily cycle: ")[1:]
    assert [d.split("\n")[0] for d in days] == [
        f"cycle-2024-03-{d}-dev (2024-03-{d}) SUCCEEDED" for d in (14, 15, 18)
    ], run.stdout
    assert days[0].count("): traded\n") == 3, days[0]  # every book bought its targets
    held = "Book klm-ensemble (klm_ensemble.clj): held\n  reason: inside the rebalance corridor"
    assert held in days[1], days[1]


def _written_dashboard(run: BlockRun, checkout: Path) -> None:
    """Check the dashboard of the price directory's default home was written where it says."""
    found = re.search(r"Dashboard: (\S+/reports/site/index\.html) \(\d+ runs", run.stdout)
    assert found, run.stdout
    assert (checkout / found.group(1)).is_file(), found.group(1)


ACTIVATE = "source .venv/bin/activate"
TOUR = ".alchemiser/tour/reports/cycle-2024-03-{}-dev.html"

# Keyed by a piece of the block's commands; each key must match exactly one block.
QUICK_START_CHECKS: dict[str, Check] = {
    "make run": _all(
        _in_out(") SUCCEEDED\n", "SYNTHETIC demo market"), _files(".alchemiser/demo/home.json")
    ),
    ACTIVATE: _activated,
    "alchemiser eval strategies/tech_momentum_guarded.clj": _in_out(
        "as of 2026-08-03", "-> true, take then   [tech_momentum_guarded.clj:9:4]"
    ),
    "alchemiser backtest strategies/tech_momentum_guarded.clj": _all(
        _in_out("max drawdown", "Report: .alchemiser/backtests/tech_momentum.html"),
        _files(".alchemiser/backtests/tech_momentum.html"),
    ),
    "--date 2024-03-18": _all(_three_days, _files(*(TOUR.format(d) for d in (14, 15, 18)))),
    "alchemiser report --home": _all(
        _in_out("Dashboard: .alchemiser/tour/reports/site/index.html (3 runs"),
        _files(
            ".alchemiser/tour/reports/site/index.html",
            ".alchemiser/tour/reports/site/book-nuclear.html",
            ".alchemiser/tour/reports/site/run-2024-03-18.html",
        ),
    ),
    "alchemiser kill-switch on": _switched_off_and_on,
}

OTHER_CHECKS: dict[str, Check] = {
    'make run ARGS="--date 2024-03-14': _runs_in_own_homes,
    "soxl_growth.clj --data": _in_out("max drawdown", "data quality: 1 issue(s)"),
    "nuclear_energy_rotation.clj --data": _files(".alchemiser/backtests/nuclear.html"),
    "books.yaml --stage dev --data": _all(
        _in_out("Portfolio backtest of stage dev"), _files(".alchemiser/backtests/dev/index.html")
    ),
    "books.yaml --hedge": _in_out("Hedge backtest of stage dev", "premium paid"),
    "alchemiser report --data": _written_dashboard,
}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """Return a copy of the checkout with the shared data at ``../shared/data``."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(DATA_DIR, target_is_directory=True)
    copy = copy_checkout(REPO_ROOT, tmp_path / "alchemiser")
    # A stale stamp would make `make run` reinstall the linked environment from the copy.
    stamp = subprocess.run(["make", "-q", ".venv/.installed"], cwd=copy, timeout=60, check=False)
    assert stamp.returncode == 0, "the checkout's .venv is not set up: run `make setup` first"
    return copy


def checks_by_line(checks: dict[str, Check], blocks: list[Block]) -> dict[int, Check]:
    """Pair each check with the one block whose commands hold its key."""
    paired = {}
    for key, check in checks.items():
        matching = [b for b in blocks if key in b.commands]
        assert len(matching) == 1, f"check {key!r} matches {len(matching)} README blocks"
        paired[matching[0].line] = check
    unchecked = [b.describe() for b in blocks if b.line not in paired]
    assert not unchecked, f"README blocks with no check here: {unchecked}"
    return paired


def children_cpu_s() -> float:
    """Return the CPU seconds (user + system) of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def is_excluded(block: Block) -> bool:
    return any(key in block.commands for key in EXCLUDED)


def readme_blocks() -> tuple[list[Block], list[Block]]:
    """Return the quick start's command blocks and every other one, excluded ones left out."""
    every = [b for b in parse_blocks(README.read_text()) if b.commands.strip()]
    for key in EXCLUDED:
        assert any(key in b.commands for b in every), f"excluded {key!r} is not in the README"
    blocks = [b for b in every if not is_excluded(b)]
    quick_start = section_blocks(blocks, QUICK_START)
    assert blocks[: len(quick_start)] == quick_start  # the README opens with it
    return quick_start, blocks[len(quick_start) :]


def run_in_order(blocks: list[Block], checks: dict[int, Check], checkout: Path, work: Path) -> None:
    """Run ``blocks`` in one fresh shell; assert each exits 0 and passes its check."""
    env = fresh_shell_env(REPO_ROOT)
    found = shutil.which("alchemiser", path=env["PATH"])
    assert found is None, f"{found} is on the PATH before the quick start activates .venv"
    cpu_before = children_cpu_s()
    runs = run_session(blocks, checkout, env, work=work, timeout_s=SESSION_TIMEOUT_S)
    print(f"\n{len(runs)} README blocks, {children_cpu_s() - cpu_before:.1f} s of CPU")
    for run in runs:
        assert run.exit_code == 0, (
            f"{run.block.describe()} exited {run.exit_code}\n"
            f"stdout (end): {run.stdout[-2000:]}\nstderr (end): {run.stderr[-2000:]}"
        )
        checks[run.block.line](run, checkout)
        print(f"{run.seconds:6.1f} s  {run.block.describe()}")


@pytest.mark.slow
def test_the_quick_start_runs_in_the_order_written(checkout: Path, tmp_path: Path) -> None:
    quick_start, _ = readme_blocks()
    checks = checks_by_line(QUICK_START_CHECKS, quick_start)
    run_in_order(quick_start, checks, checkout, tmp_path / "session")


def test_every_other_readme_example_runs_in_the_order_written(
    checkout: Path, tmp_path: Path
) -> None:
    quick_start, others = readme_blocks()
    # The reader comes from the quick start with its environment active.
    activate = [b for b in quick_start if b.commands.strip() == ACTIVATE]
    checks = checks_by_line({ACTIVATE: _activated}, activate) | checks_by_line(OTHER_CHECKS, others)
    run_in_order(activate + others, checks, checkout, tmp_path / "session")


def github_anchor(heading: str) -> str:
    """Return the anchor GitHub gives a heading (lower case, punctuation dropped)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_within_the_readme_names_a_heading() -> None:
    text = README.read_text()
    anchors = {github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert links and not [link for link in links if link not in anchors]

"""What each command imports: only ``run`` loads the simulator, moto and boto3.

Start-up time itself is measured by ``benchmarks/startup_benchmark.py`` (never asserted
here); these tests pin the deterministic facts behind it: which modules a fresh process
has loaded after a command. Each command runs in its own interpreter.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

import pytest

from alchemiser.cli import COMMANDS, build_parser, main
from tests.conftest import PRICES_DIR, REPO_ROOT

SMALL = REPO_ROOT / "strategies" / "tech_momentum_guarded.clj"
HEAVY = ("moto", "boto3", "botocore", "pandas", "alchemiser.broker.simulated", "alpaca", "tqdm",
         "pyarrow.compute", "pyarrow.parquet")  # fmt: skip
_PROBE = """
import json, sys
from alchemiser.cli import main
try:
    code = main(json.loads(sys.argv[1]))
except SystemExit as done:
    code = done.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def loaded_after(argv: list[str]) -> tuple[int, set[str]]:
    """Run the CLI in a fresh interpreter; return its exit code and every module it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        timeout=120,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["validate", str(SMALL)],
        ["eval", str(SMALL), "--data", str(PRICES_DIR)],
        ["run", "--help"],
        ["kill-switch", "--help"],
    ],
)
def test_short_commands_load_neither_the_simulator_nor_aws_nor_pandas(argv: list[str]) -> None:
    code, modules = loaded_after(argv)
    assert code == 0
    assert heavy_in(modules) == []


def test_help_imports_no_command_module() -> None:
    code, modules = loaded_after(["--help"])
    assert code == 0
    assert not {c.module for c in COMMANDS} & modules
    assert "numpy" not in modules


def test_run_loads_the_state_machine_interpreter(tmp_path: object) -> None:
    # A bad date fails after the runner is imported and before any work
    code, modules = loaded_after(["run", "--date", "2024-03-16", "--data", "/nonexistent"])
    assert code == 1
    assert "alchemiser.local.cycle_runner" in modules and "moto" in modules


def test_the_top_level_help_matches_each_commands_own_help() -> None:
    # Given every command module registered for real
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    for module in {c.module for c in COMMANDS}:
        importlib.import_module(module).register(commands)
    helps = {action.dest: action.help for action in commands._choices_actions}
    # Then the lazy table lists exactly those commands, with the same one-line help
    assert {c.name: c.help for c in COMMANDS} == helps


def test_a_command_parses_with_its_full_arguments(tmp_path: object) -> None:
    args = build_parser(["eval"]).parse_args(["eval", "x.clj", "--data", "d", "--trace"])
    assert args.trace and args.handler.__name__ == "run_eval"


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("alchemiser 0.")


def test_the_printed_version_is_the_installed_packages() -> None:
    from importlib.metadata import version

    import alchemiser

    assert alchemiser.__version__ == version("alchemiser")

"""The ``alchemiser`` command: the engine (eval, backtest, validate, import), price data (data pull) and the cycle (run)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from alchemiser.cli import control_commands, data_commands, engine_commands, run_command

COMMAND_MODULES = (engine_commands, data_commands, run_command, control_commands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alchemiser",
        description="Multi-strategy trading: evaluate and backtest symphonies, run the daily cycle.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

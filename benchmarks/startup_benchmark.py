"""Start-up benchmark: whole-process wall time of short ``alchemiser`` commands.

Each command runs as its own process (the installed console script, as a user runs
it), the commands interleaved round by round so that the machine's background load
spreads evenly over them. Reports the median, min and max wall time of each (and the
median CPU time, which a busy machine inflates less), against the 0.5 s budget for ``--help``, ``validate`` and ``eval`` of a small symphony; ``run``
is listed for reference (it loads the simulator, moto and boto3 by design).

    python benchmarks/startup_benchmark.py [--repeat 15] [--json OUT.json]

``--library DIR`` times another version of the library (a checkout's ``layers/shared``,
put first on ``PYTHONPATH``) with this script, for a before/after comparison; only the
commands every version has (``--help``, ``validate``, ``eval``) are run then.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PRICES = ROOT.parent / "shared" / "data" / "prices"
SMALL = ROOT / "strategies" / "tech_momentum_guarded.clj"
BUDGET_S = 0.5


def commands(script: str, home: Path) -> list[tuple[str, list[str], float | None]]:
    """Return (label, argv, budget) for every command measured."""
    return [
        ("python -c pass (interpreter alone)", [sys.executable, "-c", "pass"], None),
        ("alchemiser --help", [script, "--help"], BUDGET_S),
        ("alchemiser --version", [script, "--version"], BUDGET_S),
        (f"alchemiser validate {SMALL.name}", [script, "validate", str(SMALL)], BUDGET_S),
        (
            f"alchemiser eval {SMALL.name} --data PRICES",
            [script, "eval", str(SMALL), "--data", str(PRICES)],
            BUDGET_S,
        ),
        ("alchemiser run --help", [script, "run", "--help"], BUDGET_S),
        (
            "alchemiser kill-switch status (fresh home)",
            [script, "kill-switch", "status", "--home", str(home)],
            BUDGET_S,
        ),
        (
            "alchemiser run --date 2024-03-14 --data PRICES (reference)",
            [script, "run", "--date", "2024-03-14", "--data", str(PRICES), "--home", str(home)],
            None,
        ),
    ]


EVERY_VERSION = ("alchemiser --help", "alchemiser validate", "alchemiser eval", "python -c")


def time_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``argv``; return its wall time and the CPU time (user + system) it used."""
    cpu_before = _children_cpu()
    began = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--library", type=Path, help="time this layers/shared instead")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.library is not None:
        env["PYTHONPATH"] = str(args.library.resolve())
    script = str(Path(sys.executable).with_name("alchemiser"))
    if not os.access(script, os.X_OK):
        raise SystemExit(f"{script} not found: run `make setup` first")
    with tempfile.TemporaryDirectory() as tmp:
        measured = commands(script, Path(tmp) / "home")
        if args.library is not None:
            measured = [m for m in measured if m[0].startswith(EVERY_VERSION)]
        runs: dict[str, list[float]] = {label: [] for label, _, _ in measured}
        cpu: dict[str, list[float]] = {label: [] for label, _, _ in measured}
        for round_ in range(args.repeat):
            for label, argv, _ in measured:
                if "(reference)" in label and round_ >= 3:
                    continue  # seconds per run: three are enough to show the order of magnitude
                wall, used = time_once(argv, env)
                runs[label].append(wall)
                cpu[label].append(used)
            print(f"round {round_ + 1}/{args.repeat}", file=sys.stderr, end="\r")
    rows: list[dict[str, Any]] = []
    for label, _, budget in measured:
        times = runs[label]
        median = statistics.median(times)
        rows.append(
            {
                "what": label,
                "median_s": round(median, 3),
                "min_s": round(min(times), 3),
                "max_s": round(max(times), 3),
                "median_cpu_s": round(statistics.median(cpu[label]), 3),
                "runs": len(times),
                "budget_s": budget,
                "within_budget": None if budget is None else median < budget,
            }
        )
    print(f"{'command (wall seconds; cpu = user + system)':<62}{'median':>8}{'min':>8}{'max':>8}"
          f"{'cpu':>8}  budget")  # fmt: skip
    for row in rows:
        verdict = "" if row["budget_s"] is None else ("ok" if row["within_budget"] else "OVER")
        print(
            f"{row['what']:<62}{row['median_s']:>8.3f}{row['min_s']:>8.3f}{row['max_s']:>8.3f}"
            f"{row['median_cpu_s']:>8.3f}  {verdict}"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

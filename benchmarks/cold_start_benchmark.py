"""Cold start benchmark: each Lambda handler's import, then its first adapters, in fresh processes.

A cold start pays twice before the step's own work: importing the handler module (at
init) and building the AWS adapters on the first invocation (boto3 clients; alpaca-py,
hence pandas, for the steps that call Alpaca; pyarrow and awswrangler for the ones that
read prices). Both are timed in a new interpreter per run, the median of ``--runs``
reported per function: wall time, and the process's CPU time, which a machine shared
with other work inflates less (compare the ratios too).

``--source build`` (the default once ``sam build`` has run) imports from the built
layers only, bytecode included, as Lambda's read-only /opt does (the layout of
layers/package_check.py); ``--source venv`` from the development environment.

    python benchmarks/cold_start_benchmark.py [--runs 7] [--source build|venv] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers"))
sys.path.insert(0, str(ROOT / "layers" / "shared"))

import package_check  # noqa: E402  (layers/package_check.py: the Lambda layout)

from alchemiser.local.template import load_template  # noqa: E402

LIGHT_TARGET_S = 0.5
TIMED = """
import json, sys, time
paths, needs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.path[:0] = paths
began, began_cpu = time.perf_counter(), time.process_time()
import app
imported, imported_cpu = time.perf_counter(), time.process_time()
from alchemiser.runtime import current
deps = current()
if "broker" in needs:
    deps.broker.account
if "market" in needs:
    deps.market.describe
built, built_cpu = time.perf_counter(), time.process_time()
print(json.dumps({
    "import_s": imported - began, "adapters_s": built - imported,
    "import_cpu_s": imported_cpu - began_cpu, "adapters_cpu_s": built_cpu - imported_cpu,
}))
"""


def time_once(
    function: package_check.Function, paths: list[str], isolated: bool
) -> dict[str, float]:
    """Start one interpreter, import the handler and build its adapters; return the timings."""
    flags = ["-I", "-S", "-B"] if isolated else ["-B"]
    command = [sys.executable, *flags, "-c", TIMED, json.dumps(paths), json.dumps(function.needs)]
    environment = package_check.smoke_environment(function)
    if not isolated:
        environment = {**os.environ, **environment}
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=environment,
        cwd=function.code.path,
        timeout=300,
        check=True,
    )
    timings: dict[str, float] = json.loads(result.stdout.splitlines()[-1])
    return timings


def measure(function: package_check.Function, source: str, runs: int) -> dict[str, Any]:
    if source == "build":
        paths = package_check.import_paths(function, package_check.runtime_replica())
    else:
        paths = [str(function.code.path)]  # the library comes from the virtual environment
    samples = [time_once(function, paths, isolated=source == "build") for _ in range(runs)]
    row: dict[str, Any] = {"function": function.logical_id, "needs": list(function.needs)}
    for key in ("import_s", "adapters_s", "import_cpu_s", "adapters_cpu_s"):
        row[key.replace("_s", "_median_s")] = statistics.median(s[key] for s in samples)
    row["total_median_s"] = statistics.median(s["import_s"] + s["adapters_s"] for s in samples)
    row["runs"] = samples
    return row


def venv_functions() -> list[package_check.Function]:
    """Return the template's functions with their source directories (no build needed)."""
    template = load_template(ROOT / "template.yaml")
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            code = package_check.Part("code", ROOT / resource["Properties"]["CodeUri"])
            needs = tuple(resource.get("Metadata", {}).get("AlchemiserNeeds", ()))
            found.append(package_check.Function(logical_id, code, (), needs))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per function")
    built = (package_check.BUILD_DIR / "template.yaml").is_file()
    parser.add_argument("--source", choices=("build", "venv"), default="build" if built else "venv")
    parser.add_argument("--json", type=Path, help="also write every timing to this file")
    args = parser.parse_args()
    if args.source == "build":
        functions = package_check.load_functions(load_template(ROOT / "template.yaml"))
    else:
        functions = venv_functions()
    print(f"cold start, median of {args.runs} fresh processes, from the {args.source}:")
    print(
        f"{'function':>22}  {'needs':<21} {'import':>7} {'adapters':>9} {'total':>7}"
        f"   {'import CPU':>10} {'adapters CPU':>12}"
    )
    results = []
    for function in functions:
        row = measure(function, args.source, args.runs)
        results.append(row)
        print(
            f"{row['function']:>22}  {','.join(row['needs']) or '-':<21} "
            f"{row['import_median_s']:>6.3f}s {row['adapters_median_s']:>8.3f}s "
            f"{row['total_median_s']:>6.3f}s   {row['import_cpu_median_s']:>9.3f}s "
            f"{row['adapters_cpu_median_s']:>11.3f}s"
        )
    light = [r for r in results if r["function"] in LIGHT_FUNCTIONS]
    slowest = max(r["import_median_s"] for r in light)
    heaviest = max(r["import_median_s"] for r in results)
    print(
        f"the light handlers import in at most {slowest:.3f} s (target {LIGHT_TARGET_S} s, "
        f"CPU {max(r['import_cpu_median_s'] for r in light):.3f} s); the heaviest handler "
        f"takes {heaviest / slowest:.1f}x as long"
    )
    if args.json:
        args.json.write_text(json.dumps({"source": args.source, "results": results}, indent=1))
    return 0


LIGHT_FUNCTIONS = {
    "PlanOrdersFunction",
    "ExecuteOrderFunction",
    "CheckSellsFunction",
    "HedgeExecuteFunction",
    "NotifyFunction",
    "NotifyFailureFunction",
}

if __name__ == "__main__":
    sys.exit(main())

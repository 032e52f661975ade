"""Measure every Lambda function as deployed, and import each handler with exactly its layers.

Run after ``sam build`` (``make test`` does: ``make package-check``). For each function of
template.yaml:

* **size**: its code plus all its layers, unzipped (what Lambda limits to 262,144,000
  bytes, 250 MiB). Our layers are measured in ``.aws-sam/build``; an AWS-managed layer is
  estimated by installing the same packages for python3.12 x86_64 into
  ``.tools/managed-layers/`` (cached) and trimming them the way its publisher does. Fails
  above the budget (240 MiB) so a dependency bump cannot break a deploy.
* **imports**: a fresh interpreter that sees only the function's code, its layers' ``/opt``
  directories and the packages of the Lambda runtime itself (boto3, also cached under
  ``.tools/``) imports the handler, builds the AWS adapters, and builds the ones the
  function's ``Metadata: AlchemiserNeeds`` lists (no network: adapters connect lazily).
  A module a function lacks fails here rather than on its first invocation.

Usage: python layers/package_check.py [--markdown] [--budget-mib 240]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"
CACHE_DIR = REPO_ROOT / ".tools"
MIB = 1024 * 1024
LAMBDA_LIMIT_BYTES = 262_144_000  # Lambda: code and layers together, unzipped
DEFAULT_BUDGET_MIB = 240.0
PIP_FOR_LAMBDA = (
    "--disable-pip-version-check",
    "--quiet",
    "--only-binary=:all:",
    "--platform=manylinux_2_28_x86_64",
    "--platform=manylinux2014_x86_64",
    "--implementation=cp",
    "--python-version=3.12",
    "--abi=cp312",
)
# What the python3.12 runtime itself provides (the managed layers leave these out).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
NEEDS = frozenset({"broker", "market", "engine", "dashboard"})


@dataclass(frozen=True)
class ManagedLayer:
    """How to rebuild an AWS-managed layer's content from PyPI, to measure and import it."""

    label: str  # its column in the report
    requirement: str
    source: str  # where its build recipe is described


# The Powertools layer is `pip install aws-lambda-powertools[all]` for the runtime, without
# what the runtime already has, stripped, without tests and bytecode (its layer_v3 Dockerfile).
# The version is the one the tests run with; the layer version the template pins
# (PowertoolsLayerVersion) carries a 3.x of about the same size.
MANAGED_LAYERS = {
    "AWSLambdaPowertoolsPythonV3-python312-x86_64": ManagedLayer(
        label="Powertools",
        requirement="aws-lambda-powertools[all]==3.37.0",
        source="powertools-lambda-python layer_v3/docker/Dockerfile",
    ),
}


class PackageCheckError(RuntimeError):
    """The build output or a managed layer cannot be measured."""


@dataclass(frozen=True)
class Part:
    """One directory that Lambda unzips for a function: its code or one of its layers."""

    name: str
    path: Path  # holds what lands in /var/task or /opt

    @property
    def size(self) -> int:
        return tree_size(self.path)


@dataclass(frozen=True)
class Function:
    logical_id: str
    code: Part
    layers: tuple[Part, ...]  # in the template's order: a later layer wins a clash in /opt
    needs: tuple[str, ...]

    @property
    def size(self) -> int:
        return self.code.size + sum(layer.size for layer in self.layers)


def tree_size(path: Path) -> int:
    """Return the bytes of every regular file under ``path`` (what a zip stores)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            file = Path(root, name)
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def load_functions(template: dict[str, Any]) -> list[Function]:
    """Return every function of the template with its built code and layer directories."""
    functions = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        needs = tuple(resource.get("Metadata", {}).get("AlchemiserNeeds", ()))
        unknown = sorted(set(needs) - NEEDS)
        if unknown:
            raise PackageCheckError(
                f"{logical_id}: Metadata AlchemiserNeeds has {unknown}; expected any of "
                f"{sorted(NEEDS)}"
            )
        layers = tuple(layer_part(layer, template) for layer in properties.get("Layers", []))
        code = Part("code", built(logical_id))
        functions.append(Function(logical_id, code, layers, needs))
    return functions


def built(logical_id: str) -> Path:
    path = BUILD_DIR / logical_id
    if not path.is_dir():
        raise PackageCheckError(f"expected {path} from `sam build`; run `make template` first")
    return path


def layer_part(layer: Any, template: dict[str, Any]) -> Part:
    """Return the directory of a layer: ours from the build, a managed one's replica."""
    if isinstance(layer, dict) and "Ref" in layer:
        return Part(layer["Ref"], built(layer["Ref"]))
    arn = layer["Fn::Sub"] if isinstance(layer, dict) else layer
    match = re.fullmatch(r".*:layer:(?P<name>[\w-]+):\$\{(?P<parameter>\w+)\}", arn)
    if match is None or match["name"] not in MANAGED_LAYERS:
        raise PackageCheckError(f"cannot measure layer {arn!r}: add it to MANAGED_LAYERS")
    managed = MANAGED_LAYERS[match["name"]]
    version = template["Parameters"][match["parameter"]]["Default"]
    return Part(f"{managed.label}:{version}", managed_replica(managed))


def managed_replica(layer: ManagedLayer) -> Path:
    """Install (once, cached) what the managed layer holds, trimmed as its publisher trims it."""
    key = re.sub(r"[^\w.=-]+", "_", layer.requirement)
    target = CACHE_DIR / "managed-layers" / key
    if (target / ".complete").is_file():
        return target
    shutil.rmtree(target, ignore_errors=True)
    python = target / "python"
    pip_install(python, [layer.requirement])
    for entry in python.iterdir():
        if entry.name.split("-")[0].split(".")[0] in (*RUNTIME_PACKAGES, "python_dateutil", "bin"):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    trim(python)
    (target / ".complete").write_text(layer.requirement + "\n")
    return target


def runtime_replica() -> Path:
    """Install (once, cached) boto3 and its dependencies: what the Lambda runtime provides."""
    requirement = f"boto3=={importlib.metadata.version('boto3')}"
    target = CACHE_DIR / "lambda-runtime" / requirement.replace("==", "-")
    if not (target / ".complete").is_file():
        shutil.rmtree(target, ignore_errors=True)
        pip_install(target, [requirement])
        (target / ".complete").write_text(requirement + "\n")
    return target


def pip_install(target: Path, requirements: Sequence[str]) -> None:
    command = [sys.executable, "-m", "pip", "install", *PIP_FOR_LAMBDA, "--target", str(target)]
    result = subprocess.run([*command, *requirements], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackageCheckError(f"pip could not install {list(requirements)}:\n{result.stderr}")


def trim(python: Path) -> None:
    """Strip debug symbols; drop tests and bytecode (as the managed layers' builds do)."""
    for path in sorted(python.rglob("*"), reverse=True):
        if path.is_dir() and path.name in ("tests", "__pycache__"):
            shutil.rmtree(path)
    objects = [str(p) for p in python.rglob("*.so*") if p.is_file()]
    if objects and shutil.which("strip"):
        subprocess.run(["strip", "--strip-unneeded", *objects], check=True)


# -- the import check ---------------------------------------------------------------------

SMOKE = """
import json, sys
paths, needs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.path[:0] = paths
import app
from alchemiser.runtime import current
deps = current()
if "broker" in needs:
    deps.broker.account  # builds the Alpaca adapter (no request is sent)
    if deps.options is not None:
        deps.options.option_positions  # and the options one
if "market" in needs:
    deps.market.describe  # builds the S3 and Alpaca market data adapter
if "engine" in needs:
    from pathlib import Path
    from alchemiser.books.config import load_books
    load_books(Path(deps.settings.strategies_dir) / "books.yaml", deps.settings.stage)
if "dashboard" in needs:
    import alchemiser.analytics.publish  # the site's pages (numpy) and their writer
    from alchemiser.analytics.site import chart_library_source
    chart_library_source()  # plotly.js, from the charts layer
    import matplotlib.backends.backend_agg  # the email's chart
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} - set(sys.stdlib_module_names))))
"""


def import_paths(function: Function, runtime: Path) -> list[str]:
    """Return sys.path as Lambda builds it: the code, /opt/python (later layers first), runtime."""
    opt = [layer.path / "python" for layer in reversed(function.layers)]
    return [str(function.code.path), *(str(p) for p in opt if p.is_dir()), str(runtime)]


def smoke_environment(function: Function) -> dict[str, str]:
    strategies = [layer.path / "strategies" for layer in function.layers]
    found = [p for p in strategies if p.is_dir()]
    charts = [p / "charts" / "plotly.min.js" for p in (layer.path for layer in function.layers)]
    charts = [p for p in charts if p.is_file()]
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "package-check",
        "AWS_SECRET_ACCESS_KEY": "package-check",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Alchemiser",
        "ALCHEMISER_RUNTIME": "aws",
        "ALCHEMISER_STAGE": "dev",
        "ALCHEMISER_LEDGER_TABLE": "alchemiser-dev-ledger",
        "ALCHEMISER_DATA_BUCKET": "alchemiser-dev-data",
        "ALCHEMISER_REPORTS_BUCKET": "alchemiser-dev-reports",
        "ALCHEMISER_NOTIFY_FROM": "alchemiser@example.com",
        "ALCHEMISER_NOTIFY_TO": "trader@example.com",
        "ALCHEMISER_ALPACA_KEY_ID": "package-check",
        "ALCHEMISER_ALPACA_SECRET_KEY": "package-check",
        "ALCHEMISER_STRATEGIES_DIR": str(found[0]) if found else "/opt/strategies",
        # the charts layer's /opt/charts/plotly.min.js, where this function has it
        **({"ALCHEMISER_CHART_LIBRARY": str(charts[0])} if charts else {}),
    }


def check_imports(function: Function, runtime: Path) -> str:
    """Return '' when the handler and its adapters import with its layers, else the error."""
    command = [
        sys.executable,
        "-I",  # no PYTHON* variables, no user site
        "-S",  # no site-packages: only the paths Lambda would have
        "-B",  # write no bytecode into what is measured
        "-c",
        SMOKE,
        json.dumps(import_paths(function, runtime)),
        json.dumps(function.needs),
    ]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=smoke_environment(function),
            cwd=function.code.path,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "its handler and adapters did not import within 300 s"
    if result.returncode == 0:
        return ""
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {result.returncode}"


# -- the report ------------------------------------------------------------------------------


def mib(size: int) -> str:
    return f"{size / MIB:.1f}"


def rows(functions: Sequence[Function]) -> Iterator[list[str]]:
    names = sorted({layer.name for f in functions for layer in f.layers})
    yield ["function", "code", *names, "total MiB", "of 250 MiB"]
    for f in functions:
        sizes = {layer.name: mib(layer.size) for layer in f.layers}
        share = f"{100 * f.size / LAMBDA_LIMIT_BYTES:.0f} %"
        yield [
            f.logical_id,
            mib(f.code.size),
            *(sizes.get(n, "-") for n in names),
            mib(f.size),
            share,
        ]


def render(table: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(r) + " |" for r in table]
        lines.insert(1, "|" + "|".join("---" for _ in table[0]) + "|")
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--budget-mib", type=float, default=DEFAULT_BUDGET_MIB)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT / "layers" / "shared"))
    from alchemiser.local.template import load_template

    try:
        functions = load_functions(load_template(REPO_ROOT / "template.yaml"))
        runtime = runtime_replica()
    except PackageCheckError as error:
        print(f"package check: {error}", file=sys.stderr)
        return 2
    print(render(list(rows(functions)), args.markdown))
    problems = [
        f"{f.logical_id} unzips to {mib(f.size)} MiB, over the {args.budget_mib:g} MiB budget"
        for f in functions
        if f.size > args.budget_mib * MIB
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        errors = list(pool.map(lambda f: check_imports(f, runtime), functions))
    problems += [
        f"{f.logical_id} cannot run with its layers: {error}"
        for f, error in zip(functions, errors, strict=True)
        if error
    ]
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    if not problems:
        print(
            f"{len(functions)} functions within {args.budget_mib:g} MiB; each imports its handler "
            "and builds its adapters with only its layers"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Write every state machine of ``statemachines/`` with its ``${...}`` keys filled in.

A third-party validator (``make template`` runs the npm package ``asl-validator``)
checks the States Language itself, which moto, cfn-lint and ``sam validate`` do not
(a repeated state name deploys nowhere). It needs real-looking values where the
template substitutes them, so each definition gets its state machine's
``DefinitionSubstitutions`` as the local runner resolves them: function ARNs in the
local account, the stage's names.

    python -m alchemiser.local.asl_export OUT_DIR    # prints the files written
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from alchemiser.local.template import load_template, local_state_machine

STAGE = "dev"


def export(root: Path, out: Path) -> list[Path]:
    """Write each ``statemachines/*.asl.json`` of ``root``, substituted, into ``out``."""
    template = load_template(root / "template.yaml")
    deployed = {
        (root / r["Properties"]["DefinitionUri"]).resolve()
        for r in template["Resources"].values()
        if r.get("Type") == "AWS::Serverless::StateMachine"
    }
    files = sorted((root / "statemachines").glob("*.asl.json"))
    unknown = [f.name for f in files if f.resolve() not in deployed]
    if unknown:
        raise ValueError(
            f"statemachines/ holds {', '.join(unknown)}, which no state machine of "
            "template.yaml deploys (DefinitionUri): nothing says how to substitute it"
        )
    machine = local_state_machine(root, STAGE)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for key, value in machine.substitutions.items():
            text = text.replace(f"${{{key}}}", value)
        json.loads(text)  # still JSON
        target = out / path.name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m alchemiser.local.asl_export OUT_DIR", file=sys.stderr)
        return 2
    for path in export(Path.cwd(), Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

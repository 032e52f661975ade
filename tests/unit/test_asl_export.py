"""What the States Language validator checks: every state machine, its keys filled in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from alchemiser.local.asl_export import export
from tests.conftest import REPO_ROOT


def test_every_state_machine_is_written_with_each_key_filled_in(tmp_path: Path) -> None:
    # When the definitions are exported
    written = export(REPO_ROOT, tmp_path)
    # Then each file of statemachines/ is there, still JSON, with no ${...} left and the
    # functions named by ARN as a deployed stage names them
    assert [p.name for p in written] == sorted(
        p.name for p in (REPO_ROOT / "statemachines").glob("*.asl.json")
    )
    text = written[0].read_text()
    assert "${" not in text
    assert ":function:alchemiser-dev-plan-cycle" in json.dumps(json.loads(text))


def test_a_state_machine_the_template_does_not_deploy_is_refused(tmp_path: Path) -> None:
    # Given a project copy with a stray definition in statemachines/
    root = tmp_path / "project"
    root.mkdir()
    for part in ("template.yaml", "statemachines", "functions"):
        source = REPO_ROOT / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / part)
    (root / "statemachines" / "stray.asl.json").write_text('{"StartAt": "A", "States": {}}')
    # Then the export says it cannot know how to fill it
    with pytest.raises(ValueError, match=r"stray\.asl\.json, which no state machine"):
        export(root, tmp_path / "out")

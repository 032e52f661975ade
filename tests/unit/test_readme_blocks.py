"""The README runner on a tiny README of its own: it finds exactly the blocks meant,
runs them in one shell in order, and fails (naming the block) when one breaks.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.readme_blocks import (
    SessionTimeoutError,
    parse_blocks,
    run_session,
    section_blocks,
)

FAKE_README = """\
# Fake

```bash
echo before the quick start
```

## Quick start

```bash
cd sub
export GREETING=hello
echo "$GREETING from $(basename "$PWD")" > note.txt
```

```python
print("not a shell block")
```

```
$ cat note.txt
hello from sub
```

### Later

- a list item:

  ```bash
  ls note.txt
  ```

```bash
cat note.txt
BROKEN_STEP
echo never printed
```

## Next

```sh
echo after
```
"""


def env() -> dict[str, str]:
    return {"PATH": os.environ["PATH"]}


def test_the_quick_start_blocks_are_exactly_those_under_its_heading() -> None:
    blocks = section_blocks(parse_blocks(FAKE_README), "Quick start")
    assert [(b.line, b.language, b.headings) for b in blocks] == [
        (9, "bash", ("Quick start",)),
        (19, "", ("Quick start",)),
        (28, "bash", ("Quick start", "Later")),
        (32, "bash", ("Quick start", "Later")),
    ]
    assert blocks[2].commands == "ls note.txt\n"  # the list item's indentation taken off
    assert blocks[1].commands == "cat note.txt\n"  # a $ line of an output sample
    assert blocks[3].describe() == "README line 32 (Quick start > Later): cat note.txt"


def test_blocks_share_one_shell_and_the_first_failure_stops_it(tmp_path: Path) -> None:
    (tmp_path / "repo" / "sub").mkdir(parents=True)
    blocks = section_blocks(parse_blocks(FAKE_README), "Quick start")
    runs = run_session(blocks, tmp_path / "repo", env(), work=tmp_path / "work", timeout_s=30)
    # The directory and the variable of the first block hold in the next ones
    assert runs[0].exit_code == runs[1].exit_code == runs[2].exit_code == 0
    assert runs[1].stdout == "hello from sub\n" and runs[2].stdout == "note.txt\n"
    # The broken line fails its block (bash: command not found), the rest never runs
    assert runs[3].exit_code == 127 and runs[3].stdout == "hello from sub\n"
    assert "BROKEN_STEP" in runs[3].stderr and "never printed" not in runs[3].stdout
    assert runs[3].seconds is None and runs[0].seconds is not None


def test_a_block_after_a_failure_is_reported_not_reached(tmp_path: Path) -> None:
    readme = "## Quick start\n```bash\nfalse\n```\n```bash\necho two\n```\n"
    runs = run_session(section_blocks(parse_blocks(readme), "Quick start"), tmp_path, env(),
                       work=tmp_path / "work", timeout_s=30)  # fmt: skip
    assert [r.exit_code for r in runs] == [1, None]


def test_a_failure_inside_a_pipeline_fails_the_block(tmp_path: Path) -> None:
    readme = "## Quick start\n```bash\nfalse | cat\n```\n"
    runs = run_session(section_blocks(parse_blocks(readme), "Quick start"), tmp_path, env(),
                       work=tmp_path / "work", timeout_s=30)  # fmt: skip
    assert runs[0].exit_code == 1


def test_a_session_that_hangs_is_killed_at_its_time_limit(tmp_path: Path) -> None:
    readme = "## Quick start\n```bash\nsleep 30\n```\n"
    with pytest.raises(SessionTimeoutError, match="took over 1 s"):
        run_session(section_blocks(parse_blocks(readme), "Quick start"), tmp_path, env(),
                    work=tmp_path / "work", timeout_s=1)  # fmt: skip


def test_an_unclosed_fence_is_an_error_naming_its_line() -> None:
    with pytest.raises(ValueError, match="README line 2: code fence ``` is never closed"):
        parse_blocks("## Quick start\n```bash\nmake run\n")

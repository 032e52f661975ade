"""Find a README's shell examples and run them as a reader would, in one shell, in order.

A block is a fenced code block. Shell blocks (```bash, ```sh, ```shell) are commands;
in any other fence, lines starting with ``$ `` are commands shown with their output.
The runner feeds the blocks to ONE bash process, block after block, so what a block
changes (the directory, an activated virtual environment) holds for the next, as in a
terminal; it stops at the first command that fails (``set -e``, ``pipefail``) and says
which block it was.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell"})
FENCE = re.compile(r"^( *)(`{3,})\s*([\w+-]*)\s*$")  # indented inside list items too
PROMPT = "$ "


@dataclass(frozen=True)
class Block:
    """One fenced code block: its commands, where it starts and the headings above it."""

    line: int  # 1-based line of the opening fence
    language: str
    text: str
    headings: tuple[str, ...]  # the "## " heading, then the "### " one (if any)

    @property
    def commands(self) -> str:
        """Return the shell commands of the block ('' when it shows none)."""
        if self.language in SHELL_LANGUAGES:
            return self.text
        prompts = [ln[len(PROMPT) :] for ln in self.text.splitlines() if ln.startswith(PROMPT)]
        return "".join(f"{cmd}\n" for cmd in prompts)

    def describe(self) -> str:
        """Name the block for an error message: its line, section and first command."""
        first = self.commands.strip().splitlines()[0] if self.commands.strip() else ""
        return f"README line {self.line} ({' > '.join(self.headings)}): {first}"


def parse_blocks(markdown: str) -> list[Block]:
    """Return every fenced block of ``markdown`` in order; an unclosed fence is an error.

    A fence indented inside a list item has its indentation taken off its lines.
    """
    blocks: list[Block] = []
    h2 = h3 = ""
    fence: tuple[str, str, int, int] | None = None  # (backticks, language, line, indent)
    body: list[str] = []
    for number, line in enumerate(markdown.splitlines(), start=1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = (match.group(2), match.group(3).lower(), number, len(match.group(1)))
                body = []
            elif line.startswith("## "):
                h2, h3 = line[3:].strip(), ""
            elif line.startswith("### "):
                h3 = line[4:].strip()
        elif match and match.group(2) == fence[0] and not match.group(3):
            headings = (h2, h3) if h3 else (h2,)
            text = "".join(f"{b}\n" for b in body)
            blocks.append(Block(fence[2], fence[1], text, headings))
            fence = None
        else:
            indent = min(fence[3], len(line) - len(line.lstrip(" ")))
            body.append(line[indent:])
    if fence is not None:
        raise ValueError(f"README line {fence[2]}: code fence {fence[0]} is never closed")
    return blocks


def section_blocks(blocks: list[Block], section: str) -> list[Block]:
    """Return the blocks with commands under the ``## section`` heading."""
    return [b for b in blocks if b.headings[0] == section and b.commands.strip()]


@dataclass(frozen=True)
class BlockRun:
    """What one block did: its exit status (None: never reached), output and duration."""

    block: Block
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float | None  # None: it did not finish


class SessionTimeoutError(AssertionError):
    """The shell session outlived its time limit; it was killed with its children."""


def run_session(
    blocks: list[Block], cwd: Path, env: dict[str, str], *, work: Path, timeout_s: float
) -> list[BlockRun]:
    """Run ``blocks`` in order in one bash in ``cwd``; each block's output is kept apart.

    ``work`` is a directory for the block files and their output, outside ``cwd``.
    Blocks after a failing one are reported with ``exit_code`` None.
    """
    work.mkdir(parents=True, exist_ok=True)
    finished = shlex.quote(str(work / "finished"))
    lines = ["set -eo pipefail", f'echo "$EPOCHREALTIME" >{finished}']
    for i, block in enumerate(blocks):
        (work / f"{i}.sh").write_text(block.commands)
        script, out, err = (shlex.quote(str(work / f"{i}.{kind}")) for kind in ("sh", "out", "err"))
        lines.append(f"source {script} >{out} 2>{err}")
        lines.append(f'echo "$EPOCHREALTIME" >>{finished}')
    (work / "session.sh").write_text("\n".join(lines) + "\n")
    status = _run_bash(work / "session.sh", cwd, env, timeout_s)
    times = [float(t) for t in _read(work / "finished").split()]
    runs = []
    for i, block in enumerate(blocks):
        done = i + 1 < len(times)
        code = 0 if done else (status if i + 1 == len(times) else None)
        seconds = times[i + 1] - times[i] if done else None
        out, err = (_read(work / f"{i}.{kind}") for kind in ("out", "err"))
        runs.append(BlockRun(block, code, out, err, seconds))
    return runs


def _run_bash(script: Path, cwd: Path, env: dict[str, str], timeout_s: float) -> int:
    """Run ``script`` with bash in its own process group; kill the group on time-out."""
    with subprocess.Popen(
        ["bash", str(script)], cwd=cwd, env=env, start_new_session=True, stdin=subprocess.DEVNULL
    ) as proc:
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            raise SessionTimeoutError(
                f"the README's commands took over {timeout_s:.0f} s: killed"
            ) from None


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def copy_checkout(repo: Path, dest: Path) -> Path:
    """Copy the checkout's files (tracked, and new ones not ignored) to ``dest``.

    Modification times are kept, so ``make`` finds in the copy what it finds in the
    checkout; ``.venv`` is linked, not copied (the installed environment is reused).
    """
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=repo, check=True, capture_output=True, timeout=60,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = repo / name
        if source.is_file():  # a file deleted but not yet committed is still listed
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (dest / ".venv").symlink_to(repo / ".venv", target_is_directory=True)
    return dest


def fresh_shell_env(repo: Path) -> dict[str, str]:
    """Return this process's environment as a new terminal would have it.

    No virtual environment active (its ``bin`` off the ``PATH``), no ``ALCHEMISER_*``
    setting, and none of an enclosing ``make``'s variables.
    """
    venv_bins = {(repo / ".venv" / "bin").resolve()}
    if "VIRTUAL_ENV" in os.environ:  # the one this test runs in, if it was activated
        venv_bins.add((Path(os.environ["VIRTUAL_ENV"]) / "bin").resolve())
    drop = {"VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "PYTHONHOME"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("ALCHEMISER_")}
    path = [
        p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() not in venv_bins
    ]
    env["PATH"] = os.pathsep.join(path)
    return env

"""Path errors read as one line: the path, what is wrong, what was expected."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from alchemiser.cli.paths import (
    PathError,
    check_books_file,
    check_directory,
    check_file,
    check_output_file,
    describe_os_error,
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "a.clj"), "a.clj: does not exist"),
        (PermissionError(errno.EACCES, "Permission denied", "b.clj"), "b.clj: cannot be read or written: permission denied"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "prices"), "prices: is a directory"),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "f/x"), "f/x: is not a directory"),
    ],
)  # fmt: skip
def test_an_os_error_is_worded_from_its_errno_and_path_never_as_errno(
    error: OSError, expected: str
) -> None:
    text = describe_os_error(error, "a symphony .clj file")
    assert text.startswith(expected)
    assert text.endswith("(expected a symphony .clj file)")
    assert "Errno" not in text and "\n" not in text


def test_an_os_error_without_a_path_keeps_its_message() -> None:
    assert describe_os_error(FileNotFoundError("price directory x does not exist")) == (
        "price directory x does not exist"
    )


def test_file_and_directory_checks_say_what_was_found_and_expected(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    cases = [
        (lambda: check_file(tmp_path / "nope.clj", "a symphony"), "nope.clj: does not exist"),
        (lambda: check_file(tmp_path, "a symphony"), ": is a directory (expected a symphony)"),
        (lambda: check_directory(tmp_path / "file.txt", "prices"), "file.txt: is a file"),
        (lambda: check_directory(tmp_path / "nope", "prices"), "nope: does not exist"),
        (lambda: check_books_file(tmp_path / "file.txt"), "file.txt: is not a .yaml file"),
        (
            lambda: check_output_file(tmp_path / "no" / "x.csv", "a CSV file"),
            "x.csv: cannot be written: folder",
        ),
        (lambda: check_output_file(tmp_path, "a CSV file"), "is a directory"),
    ]
    for check, message in cases:
        with pytest.raises(PathError) as caught:
            check()
        assert message in str(caught.value)
        assert "\n" not in str(caught.value)


def test_a_writable_output_and_readable_inputs_pass(tmp_path: Path) -> None:
    (tmp_path / "books.yaml").write_text("stages: {}\n")
    check_books_file(tmp_path / "books.yaml")
    check_directory(tmp_path, "prices")
    check_output_file(tmp_path / "new.csv", "a CSV file")


def test_no_message_tells_a_user_to_pass_a_python_argument() -> None:
    # Every string the library can show (docstrings aside) is free of `name=True`-style advice
    import ast
    import re

    import alchemiser

    keyword_argument = re.compile(r"\b[a-z_]+=(True|False|None)\b")
    found: list[str] = []
    for path in Path(alchemiser.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        found += [
            f"{path.name}:{node.lineno}: {node.value!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and keyword_argument.search(node.value)
        ]
    assert found == []

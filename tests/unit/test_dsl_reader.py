"""Reading symphony files: all real files, deep nesting, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from alchemiser.dsl.ast import Filter, Group, walk
from alchemiser.dsl.parser import load_symphony, parse_text
from alchemiser.dsl.reader import Keyword, Symbol, read_forms
from alchemiser.dsl.source import SourceFile, SymphonyError
from alchemiser.dsl.writer import write_symphony

REAL_FILES = sorted(
    (Path(__file__).resolve().parents[2].parent / "shared/data/symphonies").glob("*.clj")
)


def test_the_nineteen_real_files_are_all_there() -> None:
    assert len(REAL_FILES) == 19


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_every_real_symphony_reads_and_round_trips_through_the_writer(path: Path) -> None:
    # Given a real symphony file
    symphony = load_symphony(path)
    # When it is written back to text and read again
    again = parse_text(write_symphony(symphony), path.name)
    # Then the tree is the same (names and offsets aside) and so are the settings
    assert again.root == symphony.root
    assert again.meta == symphony.meta
    assert again.name == symphony.name


def test_starburst_reads_its_whole_depth_and_size() -> None:
    # Given the 2.2 MB file nested ~190 levels deep
    path = next(p for p in REAL_FILES if p.name == "ftl_starburst.clj")
    source = SourceFile.read(path)
    # When read
    forms = read_forms(source)
    symphony = load_symphony(path)
    # Then every form is read and the tree has its hundreds of groups and filters
    depth = max_depth = 0
    for ch in source.text:
        if ch in "([{":
            depth += 1
            max_depth = max(max_depth, depth)
        elif ch in ")]}":
            depth -= 1
    assert max_depth > 150
    assert len(forms.closing_order) > 10_000
    nodes = walk(symphony.root)
    assert sum(isinstance(n, Group) for n in nodes) > 300
    assert sum(isinstance(n, Filter) for n in nodes) > 100


def test_nesting_far_deeper_than_the_recursion_limit_reads() -> None:
    # Given a symphony nested 5,000 groups deep (Python's recursion limit is 1,000)
    depth = 5000
    body = '(group "g" [' * depth + '(asset "SPY" nil)' + "])" * depth
    text = f'(defsymphony "deep" {{}} {body})'
    # When parsed and written back
    symphony = parse_text(text, "deep.clj")
    written = write_symphony(symphony)
    # Then it reads, and the writer handles the depth too (compared as text: dataclass
    # equality itself recurses, which real files at depth ~190 never notice)
    assert len(walk(symphony.root)) == depth + 1
    assert write_symphony(parse_text(written)) == written


def test_atoms_are_read_with_their_types() -> None:
    source = SourceFile("a.clj", '(x 1 -2 .5 1e3 "s\\"q" :kw sym, nil) ; comment')
    (form,) = read_forms(source).forms
    assert form.items == [
        Symbol("x"),
        1,
        -2,
        0.5,
        1000.0,
        's"q',
        Keyword("kw"),
        Symbol("sym"),
        Symbol("nil"),
    ]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        (
            '(defsymphony "x" {}\n (weight-equal [(asset "SPY")]',
            "t.clj:2:2",
            "expected ')' to close this form",
        ),
        (
            '(defsymphony "x" {}\n (weight-equal [(asset "SPY")))',
            "t.clj:2:30",
            "expected ']' to close the form opened at t.clj:2:16",
        ),
        ('(defsymphony "x" {} (asset "SPY))', "t.clj:1:28", "expected a closing '\"'"),
        ('(defsymphony "x" {})\n)', "t.clj:2:1", "unexpected ')'"),
    ],
)
def test_syntax_errors_name_file_line_column_and_what_was_expected(
    text: str, where: str, expected: str
) -> None:
    with pytest.raises(SymphonyError) as caught:
        parse_text(text, "t.clj")
    assert str(caught.value).startswith(where)
    assert expected in str(caught.value)

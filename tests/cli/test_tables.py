"""The CLI's tables: columns line up in terminal columns whatever the cells hold."""

from __future__ import annotations

import pytest

from brygga.commands.common import display_width, format_table, print_table

ROWS = [
    ("id", "shop", "record", "error"),
    ("7", "東京", "1001", 'HTTP 422:\n  {"errors": ["unknown SKU KAFFE-500"]}\n'),
    ("12", "Åre", "1002", "timed out\tafter 10 s \x1b[31mred\x1b[0m"),
    ("1234", "Malmö", "10000003", "x" * 300),
]


def _starts(line: str, header: str, word: str) -> int:
    """The terminal column where the column headed ``word`` starts on ``line``."""
    return display_width(line[: _index(line, header, word)])


def _index(line: str, header: str, word: str) -> int:
    column = header.split().index(word)
    cells: list[int] = []
    i = 0
    while len(cells) <= column:
        while line[i] == " ":
            i += 1
        cells.append(i)
        while i < len(line) and line[i : i + 2] != "  ":
            i += 1
    return cells[column]


@pytest.mark.parametrize("width", [None, 120, 60, 30])
def test_columns_line_up_on_any_width(width: int | None) -> None:
    lines = format_table(ROWS, indent="  ", width=width)
    assert len(lines) == len(ROWS), "a multi-line cell stays on its row's line"
    header = lines[0]
    for word in ("shop", "record", "error"):
        starts = {_starts(line, header, word) for line in lines}
        assert len(starts) == 1, (word, lines)
    assert not any("\x1b" in line or "\t" in line for line in lines)
    if width is not None:
        assert all(display_width(line) <= width for line in lines)
        assert lines[3].endswith("…")


def test_a_decomposed_letter_is_one_column() -> None:
    decomposed = "A\u030are"  # "Åre" as A + combining ring
    lines = format_table([("shop", "n"), (decomposed, "1"), ("Åre", "2")], indent="")
    assert lines[1].index("1") - 1 == lines[2].index("2")  # one code point more, same column


def test_print_table_cuts_nothing_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(ROWS)
    out = capsys.readouterr().out
    assert "x" * 300 in out and out.count("\n") == len(ROWS)

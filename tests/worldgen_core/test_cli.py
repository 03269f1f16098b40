"""worldgen_core.cli: one error line per mistake, help that reads as paragraphs, the usage line as typed."""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from worldgen_core.cli import run_cli


@dataclass
class _Args:
    size: int = 1
    """the size of each thing, a help text long enough to be wrapped over two lines in the source, with the rest
    here on the second line"""


def test_help_joins_a_docstrings_wrapped_lines(capsys):
    with pytest.raises(SystemExit):
        run_cli(_Args, lambda a: a, ["--help"], "Things.")
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "the source, with the rest here on the second line" in text


def test_a_bad_value_is_one_error_line(capsys):
    def fail(a):
        raise ValueError(f"--size must be >= 2, got {a.size}")

    with pytest.raises(SystemExit) as e:
        run_cli(_Args, fail, ["--size", "1"], "Things.")
    assert e.value.code == 2 and capsys.readouterr().err == "error: --size must be >= 2, got 1\n"


def test_the_usage_line_names_the_command_as_typed():
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-m", "worldgen_core.mapgen", "--help"], capture_output=True, text=True, cwd=root
    )
    assert out.returncode == 0 and out.stdout.startswith("usage: python -m worldgen_core.mapgen ")

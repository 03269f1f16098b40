"""The experiments are scripts, not packages (``python experiments/NAME/SCRIPT.py``): their tests load them by path."""

import importlib.util
import sys
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def load_experiment(relpath: str):
    """The module ``experiments/<relpath>``, registered under its file's stem (dataclasses and worker processes look it
    up by name)."""
    spec = importlib.util.spec_from_file_location(Path(relpath).stem, EXPERIMENTS / relpath)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def one_error_line(capsys, main, argv: list[str]) -> str:
    """Run ``main(argv)``, which must exit non-zero with exactly one ``error:`` line on stderr and no traceback; return
    that line."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert e.value.code not in (0, None) and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]

"""Run folders: a new run never writes into another's folder; a resumed run keeps its settings.

Shared by ``train_world.py`` and ``train_agent.py``. A run folder holds ``args.json`` (the run's
settings, rewritten on each resume) and ``resumes.jsonl`` (one line per resume: when, and which of
the settings that may change between sessions did change).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Callable, TypeVar

from .checkpoint import CheckpointError

A = TypeVar("A")

__all__ = ["claim_run_dir", "check_resume_args", "record_args", "flag", "run_cli"]

#: files whose presence means "a run lives here"
RUN_MARKERS = ("args.json", "last.pt", "checkpoint.pt", "model.zip", "report.json", "tb")


def flag(name: str) -> str:
    """``cfg_scale`` -> ``--cfg-scale`` (the CLI's spelling, tyro's convention)."""
    return "--" + name.replace("_", "-")


def claim_run_dir(out: str | Path, resume: bool) -> Path:
    """Check that ``out`` may be used: empty or new for a new run, an existing run for ``--resume``.

    Raises ``SystemExit`` with a one-line error otherwise; nothing is written here.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SystemExit(f"error: --out {str(out)!r} is a file; pass a folder for the run")
    found = [m for m in RUN_MARKERS if (out / m).exists()]
    if not resume and found:
        raise SystemExit(f"error: --out {str(out)!r} already holds a run ({', '.join(found)}); nothing was changed. "
                         "Continue it with --resume, or pass a new --out")
    return out


def check_resume_args(saved: dict, now: dict, may_change: set[str], where: str) -> dict:
    """Compare a run's saved settings with the resumed call's; refuse changes outside ``may_change``.

    Returns ``{name: [saved, now]}`` for the settings that did change (all in ``may_change``).
    Settings absent from ``saved`` (older runs) are not compared.
    """
    def plain(v):  # a tuple saved in a checkpoint or args.json may come back as a list
        return json.loads(json.dumps(v))

    changed = {k: [saved[k], v] for k, v in now.items() if k in saved and plain(saved[k]) != plain(v)}
    bad = {k: c for k, c in changed.items() if k not in may_change}
    if bad:
        said = ", ".join(f"{flag(k)} {c[1]!r} (the run has {c[0]!r})" for k, c in sorted(bad.items()))
        raise SystemExit(f"error: --resume with settings that differ from the run in {where}: {said}. Mixing them would "
                         f"make one run of two; resume with the run's settings, or start a new run with a new --out")
    return changed


def record_args(out: Path, args: dict, changed: dict | None = None, step: int | None = None) -> None:
    """Write ``args.json``; on a resume also append what changed to ``resumes.jsonl``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "args.json").write_text(json.dumps(args, indent=2))
    if changed is not None:
        with open(out / "resumes.jsonl", "a") as f:
            f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "step": step, "changed": changed}) + "\n")


def run_cli(args_cls: type[A], fn: Callable[[A], Path], argv: list[str] | None, description: str) -> Path:
    """Parse ``argv`` into ``args_cls`` (tyro: one flag per field, its docstring as help) and run
    ``fn``; a bad checkpoint, a diverged run, a missing file or a bad value ends with one
    ``error:`` line and exit status 2, not a traceback."""
    import tyro  # the CLI parser, only for command lines

    args = tyro.cli(args_cls, args=argv, description=description)
    try:
        return fn(args)
    except (CheckpointError, FloatingPointError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from e

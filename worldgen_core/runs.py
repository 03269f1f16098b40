"""Run folders: a new run never writes into another's folder; a resumed run keeps its settings.

Shared by ``train_world.py`` and ``train_agent.py``. A run folder holds ``args.json`` (the run's
settings, rewritten on each resume) and ``resumes.jsonl`` (one line per resume: when, and which of
the settings that may change between calls did change).

A new run needs a new or empty folder; a folder that holds only what a run writes before its first
checkpoint (``args.json``, an empty ``tb/``, logs), left by a start that failed or was killed, counts
as empty. Any other file (a user's model, notes, another run's checkpoint) makes the folder taken:
nothing in it is ever written over. While a run lives its folder is locked (``fcntl.flock`` on
``.run.lock`` in it, released by the OS when the process ends), so two runs never write one folder.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from pathlib import Path

from worldgen_core.cli import os_error
from worldgen_core.files import atomic_write

__all__ = ["claim_run_dir", "release_run_dir", "check_resume_args", "record_args", "flag", "LOCK_NAME"]

#: files whose presence means "a run lives here"
RUN_MARKERS = ("args.json", "last.pt", "checkpoint.pt", "model.zip", "report.json", "tb")
#: the lock file in a live run's folder
LOCK_NAME = ".run.lock"
#: what a run writes before its first checkpoint: a folder holding only these is a start that failed
_BEFORE_FIRST_CHECKPOINT = {"args.json", LOCK_NAME}
#: the folders this process has locked: resolved path -> the open lock file
_LOCKS: dict[Path, int] = {}


def flag(name: str) -> str:
    """``cfg_scale`` -> ``--cfg-scale`` (the CLI's spelling, tyro's convention)."""
    return "--" + name.replace("_", "-")


def _unstarted(folder: Path) -> bool:
    """Whether ``folder`` holds only what a run writes before its first checkpoint: ``args.json``,
    the lock, logs, a ``tb/`` of event files, and sub-folders (a recipe's stages) that hold only
    these; i.e. nothing, or a start that failed or was killed."""
    for f in folder.iterdir():
        if f.is_symlink():
            return False
        if f.is_dir():
            if not (
                all("tfevents" in p.name for p in f.rglob("*") if not p.is_dir()) if f.name == "tb" else _unstarted(f)
            ):
                return False
        elif not (f.name in _BEFORE_FIRST_CHECKPOINT or f.suffix == ".log"):
            return False
    return True


def _lock(out: Path) -> None:
    """Lock ``out`` for this process (re-entrant within it); a second process gets one error line."""
    key = out.resolve()
    if key in _LOCKS:
        return
    try:
        fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    except OSError as e:
        if e.errno != errno.ELOOP:
            raise
        raise SystemExit(
            f"error: --out {str(out)!r}: its {LOCK_NAME} is a link, which a run never writes through; nothing was "
            "changed. Remove the link, then run again"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise
        raise SystemExit(
            f"error: --out {str(out)!r} is in use by another run (process {holder or '?'}); nothing was changed. "
            "Wait for it to end, or pass another --out"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _LOCKS[key] = fd


def release_run_dir(out: str | Path) -> None:
    """Unlock a folder :func:`claim_run_dir` locked (the end of the process does it too)."""
    fd = _LOCKS.pop(Path(out).resolve(), None)
    if fd is not None:
        os.close(fd)  # closing the only descriptor of the lock releases it


def claim_run_dir(out: str | Path, resume: bool, lock: bool = True) -> Path:
    """Check that ``out`` may be used: new, empty or a failed start (:func:`_unstarted`) for a new
    run, an existing run for ``--resume``; then lock it for this process (``lock``; a torchrun rank
    other than the main one checks without locking). :func:`release_run_dir` unlocks it.

    Raises ``SystemExit`` with a one-line error otherwise, and then nothing has been written; else
    only the folder (for a new run) and its lock file are.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SystemExit(f"error: --out {str(out)!r} is a file; pass a folder for the run")
    if not resume:
        _refuse_unless_free(out)  # before the lock file is made: a refused folder stays as it was
    if lock and (out.is_dir() or not resume):
        try:
            out.mkdir(parents=True, exist_ok=True)
            _lock(out)
        except OSError as e:
            raise SystemExit(
                f"error: --out {str(out)!r} cannot be used ({os_error(e)}); pass a folder you can write to"
            ) from None
        if not resume:
            try:
                _refuse_unless_free(out)  # again, now that no other run can start in it
            except SystemExit:
                release_run_dir(out)
                raise
    return out


def _refuse_unless_free(out: Path) -> None:
    """``SystemExit`` unless ``out`` is new, empty or a failed start: a new run may begin there."""
    if not out.is_dir() or _unstarted(out):
        return
    found = [m for m in RUN_MARKERS if (out / m).exists()]
    if found:
        raise SystemExit(
            f"error: --out {str(out)!r} already holds a run ({', '.join(found)}); nothing was changed. "
            "Continue it with --resume, or pass a new --out"
        )
    others = sorted(f.name + ("/" if f.is_dir() else "") for f in out.iterdir() if f.name != LOCK_NAME)
    raise SystemExit(
        f"error: --out {str(out)!r} holds files that are not this run's ({', '.join(others[:5])}"
        f"{', ...' if len(others) > 5 else ''}); nothing was changed. A run writes into a new or empty folder: "
        "pass a new --out"
    )


def check_resume_args(
    saved: dict, now: dict, may_change: set[str], where: str, flags: dict[str, str] | None = None
) -> dict:
    """Compare a run's saved settings with the resumed call's; refuse changes outside ``may_change``.
    ``flags``: a setting's command-line flag where it is not :func:`flag` of its name.

    Returns ``{name: [saved, now]}`` for the settings that did change (all in ``may_change``).
    Settings absent from ``saved`` (older runs) are not compared.
    """

    def plain(v):  # a tuple saved in a checkpoint or args.json may come back as a list
        return json.loads(json.dumps(v))

    changed = {k: [saved[k], v] for k, v in now.items() if k in saved and plain(saved[k]) != plain(v)}
    bad = {k: c for k, c in changed.items() if k not in may_change}
    if bad:
        said = ", ".join(
            f"{(flags or {}).get(k) or flag(k)} {c[1]!r} (the run has {c[0]!r})" for k, c in sorted(bad.items())
        )
        raise SystemExit(
            f"error: --resume with settings that differ from the run in {where}: {said}. Mixing them would "
            f"make one run of two; resume with the run's settings, or start a new run with a new --out"
        )
    return changed


def record_args(out: Path, args: dict, changed: dict | None = None, step: int | None = None) -> None:
    """Write ``args.json``; on a resume also append what changed to ``resumes.jsonl``."""
    atomic_write(out / "args.json", lambda f: f.write(json.dumps(args, indent=2).encode()))
    if changed is not None:
        with open(out / "resumes.jsonl", "a") as f:
            f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "step": step, "changed": changed}) + "\n")

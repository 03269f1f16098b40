"""Files a run writes: atomically (the file is the old one or the new one, never half), with
Ctrl-C and SIGTERM held until it is in place, and named by their bytes (sha256).

Used by every trainer (world models, agents) and by the tools that write reports; torch-free.
:func:`atomic_write` writes a temp file in the same folder, fsyncs it and renames it over the
target; permissions follow the umask like any new file; temp files that a killed writer left
behind are removed by the next write into that folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO, Callable

__all__ = ["atomic_write", "file_sha256", "signals_held", "sigterm_as_interrupt"]


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes: which file a run used (a world model's checkpoint, say)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def _remove_stale_temps(folder: Path, name: str) -> None:
    """Delete ``.NAME.PID.*.tmp`` files whose writer process no longer exists (killed mid-write)."""
    pat = re.compile(rf"^\.{re.escape(name)}\.(\d+)\..*\.tmp$")
    for f in folder.glob(f".{name}.*.tmp"):
        m = pat.match(f.name)
        if not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            f.unlink(missing_ok=True)
        except PermissionError:  # alive, someone else's
            pass


@contextlib.contextmanager
def signals_held(signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)):
    """Hold ``signums`` while the block runs and deliver them after it, to the handlers that were
    in place before. Only the main thread receives signals; elsewhere this does nothing. A signal
    that is ignored or not handled from Python is left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    before = {}
    for s in signums:
        h = signal.getsignal(s)
        if h is None or h == signal.SIG_IGN:
            continue
        before[s] = h
        signal.signal(s, lambda n, _frame: caught.append(n))
    try:
        yield
    finally:
        for s, h in before.items():
            signal.signal(s, h)
        for s in dict.fromkeys(caught):  # each held signal once, in the order it came
            signal.raise_signal(s)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def sigterm_as_interrupt() -> None:
    """From now on SIGTERM (``kill``, a scheduler's stop) interrupts like Ctrl-C: a trainer's
    ``except KeyboardInterrupt`` saves its checkpoint either way. Main thread only (elsewhere a no-op)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """``write(file)`` into a temp file beside ``path``, fsync, rename over ``path``; SIGINT and
    SIGTERM wait until that is done (:func:`signals_held`)."""
    with signals_held():
        return _atomic_write(Path(path), write)


def _atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    try:
        return _atomic_write_unnamed(path, write)
    except OSError as e:  # a full disk, no permission: name the file asked for, not the temp file
        if e.strerror is None:
            raise
        raise type(e)(e.errno, e.strerror, str(path)) from e


def _atomic_write_unnamed(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

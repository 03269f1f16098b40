"""Checkpoints: one format for every model and process, written atomically, loaded safely.

A checkpoint is a ``torch.save`` dict of tensors and plain Python values only, so it loads with
``torch.load(weights_only=True)``: no pickled code is ever executed.

Keys: ``format`` (version), ``config`` (ModelConfig as a dict), ``process`` (``"flow"`` /
``"ddpm"``), ``sampling`` (default sampler, steps, cfg_scale), ``model``, ``ema`` (state dicts),
``optimizer``, ``step``, ``rng``, ``train_args``, ``elapsed``, and ``sha256``: a digest of every
other entry (tensor bytes included), checked on load, so a flipped bit is an error, not a silently
different model. Files written before the digest existed load without the check. Weights with a
NaN or inf value are refused on load (:func:`first_non_finite`): such a model only dreams blank views.

:func:`atomic_save` is the one writer (also for the agent trainer's checkpoints): a temp file in
the same folder, fsync, rename; permissions follow the umask like any new file; temp files that a
killed writer left behind are removed by the next save into that folder. A SIGINT or SIGTERM that
arrives while the file is written is held until it is in place, then delivered as usual (Ctrl-C
during a periodic save interrupts the run after the save, not in the middle of ``torch.save``).
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

import torch

__all__ = ["FORMAT", "save_checkpoint", "load_checkpoint", "first_non_finite", "atomic_save", "atomic_write", "signals_held", "sigterm_as_interrupt",
           "safe_load", "digest", "file_sha256", "CheckpointError"]

FORMAT = 1
_REQUIRED = ("config", "process", "sampling", "model")


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupted, or does not fit what it is loaded into."""


def digest(obj) -> str:
    """sha256 of a nest of dicts, lists, tensors and plain values (tensor dtype, shape and bytes)."""
    h = hashlib.sha256()

    def walk(x):
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu().contiguous().reshape(-1)
            h.update(f"T{t.dtype}{tuple(x.shape)}".encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(x, dict):
            h.update(b"{")
            for k in sorted(x, key=repr):
                h.update(repr(k).encode())
                walk(x[k])
            h.update(b"}")
        elif isinstance(x, (list, tuple)):
            h.update(b"[" if isinstance(x, list) else b"(")
            for v in x:
                walk(v)
            h.update(b"]")
        else:
            h.update(repr(x).encode())

    walk(obj)
    return h.hexdigest()


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


def atomic_save(path: str | Path, obj) -> Path:
    """``torch.save(obj)`` to ``path`` atomically: the file is either the old one or the new one."""
    return atomic_write(path, lambda f: torch.save(obj, f))


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


def safe_load(path: str | Path, what: str = "checkpoint", map_location="cpu"):
    """``torch.load(weights_only=True)`` whose every failure is a :class:`CheckpointError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} {str(path)!r} does not exist; pass the path of a .pt file written by this project")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - random bytes raise anything (IndexError, KeyError, UnicodeDecodeError, ...)
        raise CheckpointError(f"{what} {str(path)!r} is corrupted or not a WorldGen checkpoint "
                              f"({e.__class__.__name__}: {str(e)[:200]})") from e
    if isinstance(obj, dict) and "sha256" in obj:
        want = obj.pop("sha256")
        if digest(obj) != want:
            raise CheckpointError(f"{what} {str(path)!r} is corrupted: its contents do not match the sha256 stored in it "
                                  "(a damaged copy or disk); use another copy, or an earlier checkpoint")
    return obj


def save_checkpoint(path: str | Path, ckpt: dict) -> Path:
    """Write ``ckpt`` (with ``format`` and its ``sha256``) to ``path`` atomically."""
    missing = [k for k in _REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"refusing to save a checkpoint without {missing}")
    body = {"format": FORMAT, **{k: v for k, v in ckpt.items() if k not in ("format", "sha256")}}
    return atomic_save(path, {**body, "sha256": digest(body)})


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; clear errors for missing, broken or altered files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist; train one with train_world.py or pass the path of a .pt file")
    ckpt = safe_load(path, "checkpoint", map_location)
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in ("format", *_REQUIRED)):
        have = sorted(map(str, ckpt)) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"checkpoint {str(path)!r} lacks keys {['format', *_REQUIRED]} (has {have}); it was not written by world_models")
    if ckpt["format"] != FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r} has format {ckpt['format']}, this code reads format {FORMAT}")
    for key in ("model", "ema"):
        bad = first_non_finite(ckpt.get(key) or {})
        if bad:
            raise CheckpointError(f"checkpoint {str(path)!r} holds weights that are not finite ({key}: {bad} has NaN or inf values); "
                                  "it would dream blank views. Use an earlier checkpoint of its run")
    return ckpt


def first_non_finite(state: dict) -> str | None:
    """The name of the first floating-point tensor of a state dict with a NaN or inf value, or None."""
    return next((k for k, v in state.items() if isinstance(v, torch.Tensor) and v.is_floating_point() and not torch.isfinite(v).all()), None)

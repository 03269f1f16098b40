"""The one way every command line of the project parses its flags and reports a user's mistake.

Each entry point is a dataclass of settings (one flag per field, its docstring as help: tyro) and a
function that runs it; :func:`run_cli` parses, runs, and turns a bad value, a missing, unreadable
or unwritable file or a full disk into one ``error: ...`` line on stderr and exit status 2, never a
traceback. The function checks its settings first and raises ``ValueError`` for a bad one (the
trainers raise ``SystemExit("error: ...")`` for theirs, which ends the same way).

>>> at_least("--steps", 0, 1)
Traceback (most recent call last):
...
ValueError: --steps must be >= 1, got 0
"""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, TypeVar

A = TypeVar("A")
R = TypeVar("R")

__all__ = ["run_cli", "os_error", "check", "at_least", "input_file", "output_dir", "output_file", "refuse_overwrite"]


def os_error(e: OSError) -> str:
    """An ``OSError`` in words: ``'out.png': Is a directory`` rather than ``[Errno 21] Is a directory: 'out.png'``;
    a path under a file (``notes.txt/out.png``) names the file in the way."""
    if e.strerror is None:
        return str(e)
    if e.filename is None:
        return e.strerror
    if e.errno in (errno.EEXIST, errno.ENOTDIR):
        blocker = next((p for p in reversed((Path(e.filename), *Path(e.filename).parents)) if p.is_file()), None)
        if blocker is not None:
            under = "" if str(blocker) == str(e.filename) else f", so nothing can be written at {str(e.filename)!r}"
            return f"{str(blocker)!r} is a file, not a folder{under}; pass a path in a folder"
    return f"{str(e.filename)!r}: {e.strerror}"


def check(ok: bool, message: str) -> None:
    """``ValueError(message)`` unless ``ok``: a setting's check, in one line."""
    if not ok:
        raise ValueError(message)


def at_least(flag: str, value, lo: int | float):
    """``value`` if it is at least ``lo`` (every item, for a tuple or list), else a ``ValueError``."""
    for v in value if isinstance(value, (tuple, list)) else (value,):
        if v < lo:
            raise ValueError(f"{flag} must be >= {lo}, got {v}")
    return value


def input_file(flag: str, path, what: str = "file") -> Path:
    """``path`` if it is an existing file, else a ``ValueError`` (``FileNotFoundError`` when missing)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{flag} {str(path)!r} is a folder; pass a {what}")
    if not path.is_file():
        raise FileNotFoundError(f"{flag} {str(path)!r} does not exist; pass a {what}")
    return path


def _writable_dir(flag: str, folder: Path, what: str) -> None:
    """``folder`` exists (made if needed) and a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as e:
        raise ValueError(
            f"{flag}: cannot write {what} {str(folder)!r} ({e.strerror or e}); pass a folder you can write to"
        ) from e


def output_dir(flag: str, path) -> Path:
    """``path`` as an output folder: not a file, created if needed, writable (checked before any work)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {str(path)!r} is a file; pass a folder")
    _writable_dir(flag, path, "into the folder")
    return path


def output_file(flag: str, path) -> Path:
    """``path`` as an output file: not a folder, its folder created if needed and writable, the file
    itself writable if it exists (checked before any work)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"{flag} {str(path)!r} is a folder; pass a file name (e.g. {str(path / 'out')!r} with its extension)"
        )
    _writable_dir(flag, path.parent, "into the folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{flag}: cannot write {str(path)!r} (permission denied); pass a file you can write to")
    return path


def refuse_overwrite(dst: str | Path, overwrite: bool) -> Path:
    """``dst`` as a Path, if a file may be written there: ``IsADirectoryError`` when it is a folder,
    ``FileExistsError`` when it exists (or is a link) and ``overwrite`` (``--force``) is off."""
    dst = Path(dst)
    if dst.is_dir():
        raise IsADirectoryError(f"{str(dst)!r} is a folder; give the path of the file to write")
    if (dst.exists() or dst.is_symlink()) and not overwrite:
        raise FileExistsError(f"{str(dst)!r} exists; nothing was written. Pass another path, or --force to replace it")
    return dst


def prog() -> str:
    """How the running command was called, for its usage line: ``python -m worldbench``, ``python
    train_world.py`` or a console script's name (not the path of a ``__main__.py``)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return "python -m " + spec.name.removesuffix(".__main__")
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "worldgen"
    return f"python {name}" if name.endswith(".py") else name


def _help_as_paragraphs(tyro) -> None:
    """Help texts from docstrings read as paragraphs: tyro joins a docstring's wrapped lines only when
    they start at column 0, so the indentation of a field docstring's later lines is removed first
    (``inspect.cleandoc``). Once per process; nothing if tyro's internals differ."""
    import inspect

    strings = getattr(tyro, "_strings", None)
    join = getattr(strings, "remove_single_line_breaks", None)
    if join is None or getattr(join, "cleans_indent", False):
        return

    def joined(text: str) -> str:
        return join(inspect.cleandoc(text))

    joined.cleans_indent = True
    strings.remove_single_line_breaks = joined


def run_cli(args_cls: type[A], fn: Callable[[A], R], argv: list[str] | None, description: str) -> R:
    """Parse ``argv`` into ``args_cls`` (tyro: one flag per field, its docstring as help) and run
    ``fn``; a bad value (``ValueError``, which a bad checkpoint's error is too), a diverged run
    (``FloatingPointError``) or a missing, unreadable or unwritable file (``OSError``) ends with
    one ``error:`` line and exit status 2, not a traceback."""
    import tyro  # the CLI parser, only for command lines

    _help_as_paragraphs(tyro)
    args = tyro.cli(args_cls, args=argv, description=description, prog=prog())
    try:
        return fn(args)
    except (ValueError, FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from e
    except OSError as e:  # a missing file, a folder given for a file, no permission, a full disk, ...
        print(f"error: {os_error(e)}", file=sys.stderr)
        raise SystemExit(2) from e

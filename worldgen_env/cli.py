"""Checks the command lines share (the tools here, ``worldbench`` and ``agents``): each a
``ValueError`` that names the flag and says what it takes, which the command line
(``world_models.runs.run_cli``) prints as one ``error:`` line with exit status 2.

>>> at_least("--steps", 0, 1)
Traceback (most recent call last):
...
ValueError: --steps must be >= 1, got 0
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["at_least", "input_file", "output_dir", "output_file"]


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
        raise ValueError(f"{flag}: cannot write {what} {str(folder)!r} ({e.strerror or e}); pass a folder you can write to") from e


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
        raise ValueError(f"{flag} {str(path)!r} is a folder; pass a file name (e.g. {str(path / 'out')!r} with its extension)")
    _writable_dir(flag, path.parent, "into the folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{flag}: cannot write {str(path)!r} (permission denied); pass a file you can write to")
    return path

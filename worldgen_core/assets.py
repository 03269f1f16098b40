"""Where the shipped files live: the default map and the shipped world models.

In a checkout they are the repository's ``data/`` folder. A wheel installs that folder as the
package ``worldgen_data`` (``setup.cfg``), so an installed WorldGen dreams out of the box.

>>> data_path("world_map.png").name
'world_map.png'
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["DATA_DIR", "data_path"]


def _data_dir() -> Path:
    spec = importlib.util.find_spec("worldgen_data")  # the installed (or editable) package
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / "data"  # a checkout used without installing


#: The folder of the shipped files.
DATA_DIR = _data_dir()


def data_path(name: str) -> Path:
    """The path of a shipped file, e.g. ``data_path("world_model.pt")``."""
    return DATA_DIR / name

"""Episodes an agent saw, as transitions for world-model training: any Minari dataset of the WorldMap envs.

Read with h5py and json alone (no Gymnasium, no Minari), following Minari's on-disk format (its
``hdf5`` data format, Minari 0.5):

* a dataset's folder ``DATASET_DIR`` (in Minari's local datasets folder, ``MINARI_DATASETS_PATH/<dataset id>``)
  holds ``DATASET_DIR/data/metadata.json`` and ``DATASET_DIR/data/main_data.hdf5``;
* ``metadata.json``: ``total_episodes``, ``total_steps``, ``data_format`` (``"hdf5"``), ``jpeg_encoding``
  (image observations stored as JPEG bytes; absent: true), ``env_spec`` (the Gymnasium spec as JSON),
  the serialised spaces, ``dataset_id``, ``description``, ... and free keys: ``agents.episodes`` adds
  ``"worldgen"`` (``map_path``, ``map_fingerprint``, ``task``, ``view_size``, ``stride``, ``policy``,
  ``seed``, ...);
* ``main_data.hdf5``: one group ``episode_<i>`` per episode (``i`` from 0; attributes ``id``, ``seed``,
  ``total_steps``) with, for an episode of T steps, ``observations`` (a group for a ``Dict`` space:
  ``image`` and ``goal``, each (T+1, 64, 64, 3) uint8, the reset's observation first; with JPEG
  encoding each frame is a 1-d uint8 array of JPEG bytes), ``actions`` (T,), ``rewards`` (T,),
  ``terminations`` (T,), ``truncations`` (T,) and ``infos`` (a group: each key (T+1, ...), the reset's
  info first; here ``agent_pos`` and ``goal_pos`` (T+1, 2) pixels of the view's top-left corner,
  ``distance``, ``is_success``).

A transition is one step: the view before it, the action, the view after it, and the agent's positions
before and after. :func:`covered_cells` says which cells of the map the views of a dataset showed.

Training from datasets alone (``python -m world_models.training --episodes DATASET [DATASET ...]``, one or more
datasets of one map) never opens the map: :func:`recorded_map` is the map as the metadata describes it (fingerprint,
size, view size and stride) and :class:`world_models.data.EpisodeSampler` draws the training batches from the
transitions. :func:`load_transitions` and :func:`recorded_map` take one dataset or several of the same map.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from worldgen_core import dynamics as dyn
from worldgen_core.world import WorldCore

__all__ = [
    "ARRAYS",
    "MAP_KEYS",
    "RecordedMap",
    "Transitions",
    "covered_cells",
    "dataset_files",
    "held_out",
    "load_transitions",
    "read_episodes",
    "read_metadata",
    "recorded_map",
]


def dataset_files(path: str | Path) -> tuple[Path, Path]:
    """``(metadata.json, main_data.hdf5)`` of a dataset given as its folder, its ``data`` folder or either file."""
    path = Path(path)
    data = path.parent if path.is_file() else path / "data" if (path / "data").is_dir() else path
    meta, h5 = data / "metadata.json", data / "main_data.hdf5"
    if not path.exists():
        raise FileNotFoundError(
            f"dataset {str(path)!r} does not exist; pass a Minari dataset's folder "
            "(python -m agents.episodes --out writes one)"
        )
    if not (meta.is_file() and h5.is_file()):
        raise ValueError(
            f"{str(path)!r} is not a Minari dataset in the hdf5 format (no metadata.json and "
            "main_data.hdf5 in its data folder); pass a dataset's folder"
        )
    return meta, h5


def read_metadata(path: str | Path) -> dict:
    """The dataset's ``metadata.json``, as a dict."""
    meta, _ = dataset_files(path)
    m = json.loads(meta.read_text())
    if m.get("data_format", "hdf5") != "hdf5":
        raise ValueError(
            f"{str(path)!r} is a Minari dataset in the {m['data_format']!r} format; this reader takes "
            "the hdf5 format (minari[hdf5], the default)"
        )
    return m


def _image_keys(meta: dict) -> set:
    """The observation keys Minari treats as images (JPEG-encoded when ``jpeg_encoding``): uint8 Boxes of at
    least 32x32 over 0..255 (``minari.dataset.minari_storage.is_image_space``); ``None`` for a Box space."""
    space = json.loads(meta["observation_space"]) if "observation_space" in meta else {}
    subspaces = space.get("subspaces", {}) if space.get("type") == "Dict" else {None: space}

    def image(sp: dict) -> bool:
        shape = sp.get("shape") or []
        return (
            sp.get("type") == "Box"
            and sp.get("dtype") == "uint8"
            and len(shape) in (2, 3)
            and min(shape[:2]) >= 32
            and bool(np.all(np.asarray(sp["low"]) == 0))
            and bool(np.all(np.asarray(sp["high"]) == 255))
        )

    return {k for k, sp in subspaces.items() if isinstance(sp, dict) and image(sp)}


def _leaf(ds, image: bool) -> np.ndarray:
    """One observation array: an image stored as JPEG bytes (one 1-d uint8 array per frame, Minari's encoding)
    decoded to (T+1, H, W[, C]) uint8; anything else as stored."""
    if not (image and ds.ndim <= 2):
        return ds[()]
    from PIL import Image

    return np.stack([np.asarray(Image.open(io.BytesIO(np.asarray(b, np.uint8).tobytes()))) for b in ds[()]])


def _group(g) -> dict:
    import h5py

    return {k: _group(v) if isinstance(v, h5py.Group) else v[()] for k, v in g.items()}


def read_episodes(path: str | Path):
    """Every episode of the dataset, in order, as a dict of numpy arrays: ``id``, ``seed`` (None if not
    recorded), ``observations`` (a dict of (T+1, ...) arrays for a ``Dict`` space, views decoded from JPEG
    if they were stored so, else one array), ``actions``, ``rewards``, ``terminations``, ``truncations``
    (T,) and ``infos`` (a dict of (T+1, ...) arrays; empty if none were recorded)."""
    import h5py

    images = _image_keys(read_metadata(path))
    _, h5 = dataset_files(path)
    with h5py.File(h5, "r") as f:
        names = sorted((k for k in f if k.startswith("episode_")), key=lambda k: int(k.split("_", 1)[1]))
        for name in names:
            g = f[name]
            obs = g["observations"]
            seed = g.attrs.get("seed")
            yield {
                "id": int(g.attrs.get("id", int(name.split("_", 1)[1]))),
                "seed": None if seed is None else int(seed),
                "observations": (
                    {k: _leaf(v, k in images) for k, v in obs.items()}
                    if isinstance(obs, h5py.Group)
                    else _leaf(obs, None in images)
                ),
                **{k: g[k][()] for k in ("actions", "rewards", "terminations", "truncations")},
                "infos": _group(g["infos"]) if "infos" in g else {},
            }


@dataclass
class Transitions:
    """The steps of a dataset, flattened over episodes (N steps in all)."""

    views: np.ndarray
    """(N, v, v, 3) uint8: the view before each step"""
    actions: np.ndarray
    """(N,) int64: 0 up, 1 down, 2 left, 3 right"""
    next_views: np.ndarray
    """(N, v, v, 3) uint8: the view after it"""
    positions: np.ndarray
    """(N, 2) int64: ``info["agent_pos"]`` before the step, (y, x) pixels of the view's top-left corner"""
    next_positions: np.ndarray
    """(N, 2) int64: after it"""
    episodes: np.ndarray
    """(N,) int64: the episode id of each step"""
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    metadata: dict
    """the dataset's ``metadata.json`` (without the serialised spaces)"""

    @property
    def map_fingerprint(self) -> str | None:
        """The fingerprint of the map the episodes were recorded on (``WorldCore.fingerprint``), None if unknown."""
        return self.metadata.get("worldgen", {}).get("map_fingerprint")

    def __len__(self) -> int:
        return len(self.actions)

    def rows(self, index) -> "Transitions":
        """The transitions at ``index`` (a slice, indices or a boolean mask), with the same metadata."""
        return Transitions(**{k: getattr(self, k)[index] for k in ARRAYS}, metadata=self.metadata)


#: the per-step arrays of :class:`Transitions` (every field but the metadata)
ARRAYS = tuple(f.name for f in dataclasses.fields(Transitions) if f.name != "metadata")


def _check_map(path, meta: dict, core: WorldCore) -> None:
    fp = meta.get("worldgen", {}).get("map_fingerprint")
    if fp is None:
        raise ValueError(
            f"dataset {str(path)!r} does not say which map it shows (no worldgen map_fingerprint in its "
            "metadata); load it without a map, or record it with python -m agents.episodes"
        )
    if fp != core.fingerprint:
        raise ValueError(
            f"dataset {str(path)!r} was recorded on another map (fingerprint {fp}, "
            f"{meta['worldgen'].get('map_path')}) than {core.map_name} (fingerprint {core.fingerprint}); "
            "pass the dataset's own map"
        )
    w = meta["worldgen"]
    if (w.get("view_size"), w.get("stride")) != (core.task.view_size, core.task.stride):
        raise ValueError(
            f"dataset {str(path)!r} has {w.get('view_size')}-px views moved by {w.get('stride')} px; "
            f"the map given has {core.task.view_size} and {core.task.stride}"
        )


#: what two datasets must share to be joined: the map (its fingerprint and size) and the view's motion
MAP_KEYS = ("map_fingerprint", "map_size", "view_size", "stride")

Datasets = str | os.PathLike | Sequence[str | os.PathLike]
"""one dataset's path, or a sequence of them"""


def _paths(path: Datasets) -> list:
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths:
        raise ValueError("no dataset given; pass one or more Minari datasets' folders (python -m agents.episodes)")
    return paths


def _one_map(paths: list) -> None:
    """Refuse several datasets unless each names its map (``worldgen.map_fingerprint``) and all share
    :data:`MAP_KEYS`: one ``ValueError`` naming the first dataset and the one that differs."""
    if len(paths) == 1:
        return
    maps = [read_metadata(p).get("worldgen", {}) for p in paths]
    for p, w in zip(paths, maps):
        if "map_fingerprint" not in w:
            raise ValueError(
                f"dataset {str(p)!r} does not say which map it shows (no worldgen map_fingerprint in its metadata); "
                "several datasets are joined only when each names its map: record it with python -m agents.episodes"
            )
    for p, w in zip(paths[1:], maps[1:]):
        diff = [k for k in MAP_KEYS if w.get(k) != maps[0].get(k)]
        if diff:
            said = ", ".join(f"{k} {maps[0].get(k)} vs {w.get(k)}" for k in diff)
            raise ValueError(
                f"datasets {str(paths[0])!r} and {str(p)!r} are of different maps ({said}); "
                "pass datasets recorded on one map"
            )


def load_transitions(path: Datasets, core: WorldCore | None = None, view: str = "image") -> Transitions:
    """All steps of a Minari dataset of the WorldMap envs, as numpy arrays (:class:`Transitions`); or of several
    datasets of one map (a sequence of paths), concatenated in order.

    ``core``: the map the data is for; a dataset recorded on another map (its ``worldgen.map_fingerprint``),
    or one that does not say which map it shows, is refused (``ValueError``). ``view``: the observation
    key of the view (the env's ``"image"``; the goal view is not part of a transition).

    Several datasets: each must name its map and all share :data:`MAP_KEYS` (else a ``ValueError`` naming two of
    them); each dataset's episode ids are shifted to follow the previous dataset's last (distinct, in order); the
    metadata is the first dataset's, with ``datasets``: every dataset's id, in order."""
    paths = _paths(path)
    _one_map(paths)
    if len(paths) == 1:
        return _load(paths[0], core, view)
    parts = []
    for p in paths:
        t = _load(p, core, view)
        if parts:
            t.episodes += parts[-1].episodes.max() + 1 - t.episodes.min()
        parts.append(t)
    meta = {**parts[0].metadata, "datasets": [_dataset_id(p, t.metadata) for p, t in zip(paths, parts)]}
    return Transitions(**{k: np.concatenate([getattr(t, k) for t in parts]) for k in ARRAYS}, metadata=meta)


def _dataset_id(path, meta: dict) -> str:
    """The dataset's id: its metadata's ``dataset_id``, else its folder's name."""
    return str(meta.get("dataset_id") or dataset_files(path)[1].parent.parent.name)


def _load(path: str | Path, core: WorldCore | None, view: str) -> Transitions:
    """One dataset's :func:`load_transitions`."""
    meta = {k: v for k, v in read_metadata(path).items() if k not in ("observation_space", "action_space")}
    if core is not None:
        _check_map(path, meta, core)
    parts = {k: [] for k in ARRAYS}
    for ep in read_episodes(path):
        obs = ep["observations"]
        frames = obs[view] if isinstance(obs, dict) else obs
        if "agent_pos" not in ep["infos"]:
            raise ValueError(
                f"dataset {str(path)!r} holds no info['agent_pos'] (episode {ep['id']}); record it with "
                "its infos (minari.DataCollector(record_infos=True), or python -m agents.episodes)"
            )
        pos = np.asarray(ep["infos"]["agent_pos"], np.int64)
        t = len(ep["actions"])
        for k, v in (
            ("views", frames[:-1]),
            ("next_views", frames[1:]),
            ("positions", pos[:-1]),
            ("next_positions", pos[1:]),
            ("actions", np.asarray(ep["actions"], np.int64)),
            ("episodes", np.full(t, ep["id"], np.int64)),
            ("rewards", ep["rewards"]),
            ("terminations", ep["terminations"]),
            ("truncations", ep["truncations"]),
        ):
            parts[k].append(v)
    if not parts["actions"]:
        raise ValueError(f"dataset {str(path)!r} holds no episodes")
    return Transitions(**{k: np.concatenate(v) for k, v in parts.items()}, metadata=meta)


def covered_cells(data: Transitions, core: WorldCore) -> np.ndarray:
    """Which cells of the map (a boolean grid of ``core.place_grid``) the dataset's views showed: every cell
    under a view at any position before or after a step. The dataset must be of ``core``'s map."""
    _check_map(data.metadata.get("dataset_id", "the transitions"), data.metadata, core)
    s, g = core.task.stride, core.task.view_size // core.task.stride
    cells = np.unique(np.concatenate([data.positions, data.next_positions]) // s, axis=0)
    grid = np.zeros(core.place_grid, bool)
    for dy in range(g):
        for dx in range(g):
            grid[cells[:, 0] + dy, cells[:, 1] + dx] = True
    return grid


@dataclass(frozen=True)
class RecordedMap:
    """The map a dataset was recorded on, as its metadata describes it, without its pixels: what a model of
    the map needs to know of it (its size in cells for a place field, its fingerprint, the view's motion)."""

    map_name: str
    fingerprint: str
    task: dyn.TaskConfig
    grid: np.ndarray
    """(rows, cols): the view positions, as ``WorldCore.grid``"""

    place_grid = WorldCore.place_grid


def recorded_map(path: Datasets) -> RecordedMap:
    """The map of the dataset ``path`` from its ``worldgen`` metadata (``map_fingerprint``, ``map_size``,
    ``view_size``, ``stride``; ``python -m agents.episodes`` writes them); a ``ValueError`` if any is missing.
    Several datasets (a sequence of paths): their one map; a ``ValueError`` if they are of different maps."""
    paths = _paths(path)
    for p in paths:  # each records its map (the first missing key is named with its dataset) ...
        _recorded_map(p)
    _one_map(paths)  # ... and it is the same map
    return _recorded_map(paths[0])


def _recorded_map(path: str | Path) -> RecordedMap:
    w = read_metadata(path).get("worldgen", {})
    missing = [k for k in ("map_fingerprint", "map_size", "view_size", "stride") if k not in w]
    if missing:
        raise ValueError(
            f"dataset {str(path)!r} does not record its map's {', '.join(missing)} (worldgen metadata), which "
            "training from episodes needs; record it again with python -m agents.episodes"
        )
    task = dyn.TaskConfig(view_size=int(w["view_size"]), stride=int(w["stride"]))
    grid = dyn.grid_shape(tuple(w["map_size"]), task.view_size, task.stride)
    return RecordedMap(str(w.get("map_path", "the recorded map")), str(w["map_fingerprint"]), task, grid)


def held_out(data: Transitions, episodes: int = 2, steps: int = 6) -> np.ndarray:
    """A boolean mask of the transitions of the last ``episodes`` episodes of at least ``steps`` steps, kept out
    of training to evaluate on; all False if the dataset has no more than ``episodes`` episodes, or fewer such."""
    ids, first, counts = np.unique(data.episodes, return_index=True, return_counts=True)
    long = ids[np.argsort(first)][counts[np.argsort(first)] >= steps]
    if len(ids) <= episodes or len(long) < episodes:
        return np.zeros(len(data), bool)
    return np.isin(data.episodes, long[-episodes:])

"""Which world models the benchmark runs: specs -> fresh simulators.

A spec is one of

* ``copy`` / ``shift``: the baselines (:mod:`world_models.baselines`);
* ``oracle``: the true views (a perfect simulator: exact everywhere; a check of the benchmark);
* a checkpoint path, optionally with sampler settings: ``runs/x/last.pt`` or
  ``runs/x/last.pt?steps=10&cfg=1.5&sampler=euler``; it dreams as ``DreamWorldMap-v0`` does, with
  the memory of what it has shown (:class:`worldgen_core.simulator.TileMemory`); ``?memory=0``
  gives the memoryless dream (next view from the current view only); a model with a place field
  is given the next views' cells on the map it knows (``?place=0``: its field left out);
* ``package.module:factory``: ``factory(core)`` returns any object implementing
  :class:`worldgen_core.simulator.Simulator` (your own world model).

``NAME=SPEC`` names a row (default: the spec itself).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl

import numpy as np
import torch

from world_models.baselines import copy_baseline, shift_baseline
from world_models.inference import model_predictor
from world_models.io.card import model_name
from world_models.io.checkpoint import load_checkpoint
from worldgen_core import dynamics as dyn
from worldgen_core.files import file_sha256
from worldgen_core.simulator import PredictorSimulator, Simulator, TileMemory, check_simulator, with_rows
from worldgen_core.world import WorldCore
from worldgen_env.dream import load_dream_model

__all__ = ["Entry", "OracleSimulator", "parse_spec", "checkpoint_simulator", "noise_with_memory", "shift_with_memory"]


@dataclass
class Entry:
    """One leaderboard row: its name, its spec and a maker of fresh simulators (state is per run)."""

    name: str
    spec: str
    make: Callable[[], Simulator]
    learned: bool = True  # False for the baselines and the oracle
    digest: str | None = None  # a checkpoint's sha256 (its file's bytes): which weights the spec named
    model: str | None = None  # a checkpoint's model name from its card ("worlddit-worldmap v5"), else its file name

    @property
    def identity(self) -> dict:
        """What names this simulator in an agent run's identity (``agents.training.run_identity``)."""
        return {"spec": self.spec, "sha256": self.digest}


class OracleSimulator:
    """The true views: follows the known motion from the real start cells and crops the map."""

    def __init__(self, core: WorldCore):
        self.core, self.pos = core, None

    def reset(self, idx, first_views, positions):
        self.pos = with_rows(self.pos, idx, (2,), np.int64)
        self.pos[idx] = positions

    def step(self, actions, moved):
        self.pos = dyn.move(self.pos, np.asarray(actions), self.core.grid)
        return self.core.views(self.pos)


def noise_with_memory(core: WorldCore, seed: int = 0) -> PredictorSimulator:
    """A known-defect simulator for calibrating agent transfer (``worldbench.models:noise_with_memory``):
    the dream's memory (exact revisits, the goal view at the goal's cell) and uniform noise for
    every never-seen pixel. A measure that scores it like a learned model does not see content."""
    rng = np.random.default_rng(seed)
    return PredictorSimulator(
        lambda views, actions: rng.integers(0, 256, views.shape, dtype=np.uint8), memory=TileMemory(core.task.stride)
    )


def shift_with_memory(core: WorldCore) -> PredictorSimulator:
    """``shift`` (the view translated, the revealed strip streaked) with the dream's memory."""
    return PredictorSimulator(
        lambda views, actions: shift_baseline(views, actions, core.task.stride), memory=TileMemory(core.task.stride)
    )


def checkpoint_simulator(
    path: str,
    device: str = "auto",
    dtype: str = "auto",
    sampler: str | None = None,
    steps: int | None = None,
    cfg_scale: float | None = None,
    memory: bool = True,
    stride: int = 8,
    core: WorldCore | None = None,
    place: bool | None = None,
) -> PredictorSimulator:
    """A ``train_world.py`` checkpoint as a simulator (noise from its own seeded generator), with a
    :class:`TileMemory` of ``stride``-pixel cells unless ``memory=False``. ``place`` (None: whenever
    the model's place field knows ``core``'s map, as the dream env decides): give it the next views' cells."""
    wm = load_dream_model(path, device, dtype)
    g = torch.Generator(device=wm.device)
    knows = core is not None and wm.knows(core)
    if place and not knows:
        raise ValueError(
            f"model {path!r}: place=1 needs a model whose place field knows this map (has place field: {wm.has_place})"
        )
    place = knows if place is None else bool(place)

    predict = model_predictor(wm, sampler, steps, cfg_scale, batch=256, generator=g)
    sim = PredictorSimulator(predict, seed_fn=g.manual_seed, memory=TileMemory(stride) if memory else None, place=place)
    sim.world_model = wm  # for the cost measurements
    return sim


def parse_spec(spec: str, core: WorldCore, device: str = "auto", dtype: str = "auto") -> Entry:
    """``[NAME=]SPEC`` -> :class:`Entry` (see the module docstring)."""
    name, _, body = spec.partition("=") if "=" in spec.split("?")[0] else ("", "", spec)
    name = name or body
    stride = core.task.stride
    if body == "copy":
        return Entry(name, body, lambda: PredictorSimulator(copy_baseline), learned=False)
    if body == "shift":
        return Entry(name, body, lambda: PredictorSimulator(lambda v, a: shift_baseline(v, a, stride)), learned=False)
    if body == "oracle":
        return Entry(name, body, lambda: OracleSimulator(core), learned=False)
    path, _, query = body.partition("?")
    if Path(path).suffix == ".pt" or Path(path).is_file():
        opts = dict(parse_qsl(query))
        unknown = set(opts) - {"steps", "cfg", "sampler", "memory", "place"}
        if unknown:
            raise ValueError(
                f"model spec {spec!r}: unknown settings {sorted(unknown)}; use "
                "?steps=N&cfg=W&sampler=NAME&memory=0|1&place=0|1"
            )
        for flag in ("memory", "place"):
            if opts.get(flag, "1") not in ("0", "1"):
                raise ValueError(f"model spec {spec!r}: {flag} must be 0 or 1, got {opts[flag]!r}")
        kw = dict(
            sampler=opts.get("sampler"),
            steps=int(opts["steps"]) if "steps" in opts else None,
            cfg_scale=float(opts["cfg"]) if "cfg" in opts else None,
            memory=opts.get("memory", "1") == "1",
            stride=stride,
            core=core,
            place=None if "place" not in opts else opts["place"] == "1",
        )
        if not Path(path).is_file():
            raise FileNotFoundError(f"model spec {spec!r}: checkpoint {path!r} does not exist")
        checkpoint_simulator(path, device, dtype, **kw)  # fail now, with the checkpoint's own error, not mid-benchmark
        return Entry(
            name,
            body,
            lambda: checkpoint_simulator(path, device, dtype, **kw),
            digest=file_sha256(path),
            model=model_name(load_checkpoint(path), path),
        )
    if ":" in body:
        mod, _, attr = body.partition(":")
        try:
            factory = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as e:
            raise ValueError(f"model spec {spec!r}: cannot import {attr!r} from {mod!r} ({e})") from e

        def make():
            sim = factory(core)
            check_simulator(sim)
            return sim

        return Entry(name, body, make)
    raise ValueError(f"model spec {spec!r} is not copy, shift, oracle, a .pt checkpoint or module:factory")

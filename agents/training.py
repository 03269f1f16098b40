"""PPO (stable-baselines3) in the real or the dreamed WorldMap, evaluated in the real one.

A run folder holds ``checkpoint.pt`` (policy, optimiser, step count, learning curve: plain tensors
and values, loaded with ``weights_only=True``), written atomically every ``--ckpt-every`` env
steps; ``--resume`` continues from it. SIGINT (Ctrl-C) and SIGTERM save the checkpoint and
``model.zip`` and write the report for the steps done, then exit with status 130.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from world_models.checkpoint import CheckpointError, atomic_save, atomic_write, safe_load, sigterm_as_interrupt
from world_models.runs import check_resume_args, claim_run_dir, record_args
from worldgen_core.dynamics import TASKS, TaskConfig
from worldgen_core.simulator import Simulator
from worldgen_core.world import WorldCore

from .evaluation import evaluate_real, plot_curves, random_policy, record_gif, sb3_policy
from .policy import EXTRACTORS
from .vec_env import make_sb3_vec_env

__all__ = ["Args", "train", "main"]

ENVS = ("WorldMap-v0", "DreamWorldMap-v0")
#: settings a --resume may change (when to stop, how to report); every other one must match the run's
RESUME_MAY_CHANGE = {"out", "resume", "timesteps", "progress", "device", "eval_episodes", "eval_every", "ckpt_every"}


@dataclass
class Args:
    """Train PPO in WorldMap-v0 or DreamWorldMap-v0 and evaluate it in WorldMap-v0."""

    env: str = "DreamWorldMap-v0"
    """WorldMap-v0 (real) | DreamWorldMap-v0 (the world model's dream)"""
    task: str = "near"
    """near (goal 3-7 moves, in view at the start) | far (goal 8-12 moves, never in view at the start; 64-step episodes)"""
    map: str | None = None
    """world-map image for training, evaluation and the GIF (default: data/world_map.png)"""
    goal_distance: tuple[int, int] | None = None
    """override the task's goal range: MIN MAX moves"""
    max_episode_steps: int | None = None
    """override the task's episode length"""
    out: str = "runs/agent"
    """run folder: tensorboard logs (tb/), checkpoint.pt, model.zip, report.md/json, eval.gif; must not hold another run"""
    timesteps: int = 30_000
    """environment steps of training (in all, counting the steps done before a --resume); the near task's real-env
    success passes 0.97 by 10k steps in the dream (4 seeds, docs/RESULTS.md): 30k keeps a 3x margin; the far task needs 100k+"""
    n_envs: int = 16
    seed: int = 0
    world_model: str | None = None
    """world-model checkpoint for DreamWorldMap-v0 (default: the shipped data/world_model.pt)"""
    dream_steps: int | None = None
    """sampler steps per dreamed frame (default: the checkpoint's)"""
    dream_cfg_scale: float | None = None
    """CFG weight for dreaming (default: the checkpoint's)"""
    dream_remember_goal: bool | None = None
    """DreamWorldMap-v0: place the real goal view at the goal's cell in the dream's memory (None: whenever it has one;
    far-task transfer 0.34-0.45x -> 1.02-1.06x of real, docs/RESULTS.md)"""
    dream_dtype: str = "auto"
    """autocast dtype of the dream: auto (bfloat16 on a GPU or a CPU with AMX, else float32) | bfloat16 | float32"""
    extractor: str = "correlation"
    """correlation (cost volume over move displacements) | place (+ a per-view place embedding: the far task) | stacked (6-channel CNN) | siamese"""
    shaping: float = 0.1
    """potential-based shaping of the training reward (does not change the optimal policy)"""
    learning_rate: float = 3e-4
    n_steps: int = 64
    batch_size: int = 256
    n_epochs: int = 4
    gamma: float = 0.95
    gae_lambda: float = 0.95
    ent_coef: float = 0.01
    clip_range: float = 0.2
    eval_every: int = 10_000
    """environment steps between evaluations in the REAL env (0: only at the end)"""
    eval_episodes: int = 200
    ckpt_every: int = 10_000
    """environment steps between checkpoints (checkpoint.pt; 0: only at the end and on interruption)"""
    resume: bool = False
    """continue the run in --out from its checkpoint.pt, up to --timesteps in all"""
    device: str = "auto"
    progress: bool = True


def task_kwargs(a: Args) -> dict:
    """The env keyword arguments of the run's map and task (training env, evaluation, random baseline, GIF)."""
    kw = {k: v for k, v in TASKS[a.task].items()}
    if a.goal_distance is not None:
        kw["goal_distance"] = tuple(a.goal_distance)
    if a.max_episode_steps is not None:
        kw["max_episode_steps"] = a.max_episode_steps
    return {"map_path": a.map, **kw}


def _validate(a: Args) -> None:
    if a.task not in TASKS:
        raise SystemExit(f"error: --task must be one of {sorted(TASKS)}, got {a.task!r}")
    if a.map is not None and not Path(a.map).is_file():
        raise SystemExit(f"error: --map {a.map!r} is not a file; pass an image (PNG, JPEG, ...)")
    if a.max_episode_steps is not None and a.max_episode_steps < 1:
        raise SystemExit(f"error: --max-episode-steps must be >= 1, got {a.max_episode_steps}")
    if a.env not in ENVS:
        raise SystemExit(f"error: --env must be one of {ENVS}, got {a.env!r}")
    if a.dream_remember_goal is not None and a.env != "DreamWorldMap-v0":
        raise SystemExit(f"error: --dream-remember-goal is a setting of the dream; use it with --env DreamWorldMap-v0, not {a.env}")
    if a.extractor not in EXTRACTORS:
        raise SystemExit(f"error: --extractor must be one of {sorted(EXTRACTORS)}, got {a.extractor!r}")
    for name in ("timesteps", "n_envs", "n_steps", "batch_size", "n_epochs", "eval_episodes"):
        if getattr(a, name) < 1:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")
    if a.n_steps * a.n_envs < 2:
        raise SystemExit(f"error: --n-steps x --n-envs must be >= 2 (PPO normalises advantages over a rollout), got {a.n_steps} x {a.n_envs}")
    for name in ("eval_every", "ckpt_every"):
        if getattr(a, name) < 0:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be >= 0 (0: only at the end), got {getattr(a, name)}")
    checks = {"learning_rate": a.learning_rate > 0, "gamma": 0 < a.gamma <= 1, "gae_lambda": 0 <= a.gae_lambda <= 1,
              "ent_coef": a.ent_coef >= 0, "clip_range": a.clip_range > 0, "shaping": math.isfinite(a.shaping)}
    for name, ok in checks.items():
        v = getattr(a, name)
        if not (ok and math.isfinite(v)):
            raise SystemExit(f"error: --{name.replace('_', '-')} {v!r} is out of range (learning-rate > 0, gamma in (0, 1], "
                             "gae-lambda in [0, 1], ent-coef >= 0, clip-range > 0, all finite)")


class RealEvalCallback(BaseCallback):
    """Every ``every`` env steps: success rate etc. in the REAL env, logged to tensorboard; every
    ``ckpt_every`` env steps (between rollouts, after an update): ``save()``."""

    def __init__(self, every: int, episodes: int, curve: list, ckpt_every: int = 0, save=None, start: int = 0, env_kwargs: dict | None = None):
        super().__init__()
        self.every, self.episodes, self.curve, self.env_kwargs = every, episodes, curve, env_kwargs or {}
        self.ckpt_every, self.save, self.start = ckpt_every, save, start
        self._next = (start // every + 1) * every if every else 0
        self._next_ckpt = (start // ckpt_every + 1) * ckpt_every if ckpt_every else 0

    def _on_training_start(self) -> None:
        if self.every and self.start == 0:
            self._evaluate()  # the untrained policy: where every curve starts

    def _evaluate(self) -> None:
        r = evaluate_real(sb3_policy(self.model), n_episodes=self.episodes, **self.env_kwargs)
        for k, v in r.items():
            self.logger.record(f"eval_real/{k}", v)
        self.curve.append((self.num_timesteps, r["success_rate"]))
        self.logger.dump(self.num_timesteps)

    def _on_rollout_start(self) -> None:
        if self.ckpt_every and self.save is not None and self.num_timesteps >= self._next_ckpt:
            self._next_ckpt = (self.num_timesteps // self.ckpt_every + 1) * self.ckpt_every
            self.save()

    def _on_step(self) -> bool:
        if self.every and self.num_timesteps >= self._next:
            self._next += self.every
            self._evaluate()
        return True


def train(a: Args, simulator: Callable[[], Simulator] | None = None) -> dict:
    """Train and evaluate as ``a`` says. ``simulator``: for ``DreamWorldMap-v0``, a maker of the
    simulator to dream with (any :class:`worldgen_core.simulator.Simulator`) instead of the
    checkpoint ``a.world_model``; called once."""
    _validate(a)
    if simulator is not None and (a.env != "DreamWorldMap-v0" or a.world_model is not None):
        raise ValueError("simulator= replaces the dream's checkpoint: use it with --env DreamWorldMap-v0 and no --world-model")
    task_kw = task_kwargs(a)
    try:  # the map and the task, checked before anything is written
        WorldCore(task_kw["map_path"], TaskConfig(**{k: v for k, v in task_kw.items() if k in ("goal_distance", "goal_out_of_view")}))
    except ValueError as e:
        raise SystemExit(f"error: {e}") from e
    out = claim_run_dir(a.out, a.resume)
    ck, changed = None, None
    if a.resume:
        if not (out / "checkpoint.pt").exists():
            raise SystemExit(f"error: --resume but {out / 'checkpoint.pt'} does not exist; start the run without --resume (and a new --out)")
        try:
            ck = safe_load(out / "checkpoint.pt", "agent checkpoint")
        except CheckpointError as e:
            raise SystemExit(f"error: {e}") from e
        changed = check_resume_args(ck["args"], dataclasses.asdict(a), RESUME_MAY_CHANGE, str(out))
        if ck["num_timesteps"] >= a.timesteps:
            print(f"{out} already has {ck['num_timesteps']} of --timesteps {a.timesteps}: evaluating it")
    record_args(out, dataclasses.asdict(a), changed, ck["num_timesteps"] if ck else None)
    torch.manual_seed(a.seed)
    task_kw = task_kwargs(a)
    kw = dict(shaping=a.shaping, **task_kw)
    if a.env == "DreamWorldMap-v0":  # the dream's settings, whichever simulator it dreams with
        kw.update(remember_goal=a.dream_remember_goal)
        if simulator is not None:
            kw.update(model=simulator())
        else:
            kw.update(checkpoint=a.world_model, steps=a.dream_steps, cfg_scale=a.dream_cfg_scale, dtype=a.dream_dtype)
    env = make_sb3_vec_env(a.env, a.n_envs, seed=a.seed + (ck["num_timesteps"] if ck else 0), **kw)
    model = PPO("MultiInputPolicy", env, learning_rate=a.learning_rate, n_steps=a.n_steps, batch_size=min(a.batch_size, a.n_steps * a.n_envs),
                n_epochs=a.n_epochs, gamma=a.gamma, gae_lambda=a.gae_lambda, ent_coef=a.ent_coef, clip_range=a.clip_range,
                policy_kwargs=dict(features_extractor_class=EXTRACTORS[a.extractor]), tensorboard_log=str(out / "tb"),
                seed=a.seed, device=a.device, verbose=0)
    curve: list = []
    wall_before = 0.0
    if ck is not None:
        model.policy.load_state_dict(ck["policy"])
        model.policy.optimizer.load_state_dict(ck["optimizer"])
        model.num_timesteps = int(ck["num_timesteps"])
        curve = [tuple(p) for p in ck["curve"]]
        wall_before = float(ck["train_wall_s"])
        print(f"resumed {out / 'checkpoint.pt'} at {model.num_timesteps} env steps")
    t0 = time.perf_counter()
    wall = lambda: wall_before + time.perf_counter() - t0

    def save_checkpoint() -> None:
        atomic_save(out / "checkpoint.pt", {"policy": model.policy.state_dict(), "optimizer": model.policy.optimizer.state_dict(),
                                            "num_timesteps": int(model.num_timesteps), "curve": [list(p) for p in curve],
                                            "train_wall_s": wall(), "args": dataclasses.asdict(a)})

    if ck is None:
        save_checkpoint()  # a run killed before its first checkpoint still resumes (from step 0)
    callback = RealEvalCallback(a.eval_every, a.eval_episodes, curve, a.ckpt_every, save_checkpoint, start=model.num_timesteps, env_kwargs=task_kw)
    sigterm_as_interrupt()
    interrupted = False
    try:
        remaining = a.timesteps - model.num_timesteps
        if remaining > 0:
            model.learn(remaining, callback=callback, progress_bar=a.progress, tb_log_name="ppo", reset_num_timesteps=ck is None)
    except KeyboardInterrupt:
        interrupted = True
        print(f"\ninterrupted at {model.num_timesteps} env steps: saving the checkpoint, model and report "
              f"(continue with --resume --out {out})", file=sys.stderr)
    save_checkpoint()
    atomic_write(out / "model.zip", model.save)  # SB3's model.zip, never half-written
    env.close()
    report = _report(a, out, model, curve, wall(), interrupted)
    if interrupted:
        raise SystemExit(130)
    return report


def _report(a: Args, out: Path, model: PPO, curve: list, wall: float, interrupted: bool) -> dict:
    steps = int(model.num_timesteps)
    task_kw = task_kwargs(a)
    final = evaluate_real(sb3_policy(model), n_episodes=a.eval_episodes, **task_kw)
    rand = evaluate_real(random_policy(a.seed), n_episodes=a.eval_episodes, **task_kw)
    gif = record_gif(sb3_policy(model), out / "eval.gif", **task_kw)
    plot = plot_curves({f"PPO ({a.env})": [curve + [(steps, final["success_rate"])]]}, rand["success_rate"], out / "curve.png")
    sps = steps / max(wall, 1e-9)
    map_name = a.map or "data/world_map.png"
    task_desc = (f"task {a.task!r}: goal {task_kw['goal_distance'][0]}-{task_kw['goal_distance'][1]} moves"
                 f"{', out of view at the start' if task_kw['goal_out_of_view'] else ''}, {task_kw['max_episode_steps']}-step episodes")
    report = {"env": a.env, "map": map_name, "task": a.task, "task_kwargs": {k: v for k, v in task_kw.items() if k != "map_path"},
              "timesteps": steps, "timesteps_asked": a.timesteps, "interrupted": interrupted, "seed": a.seed,
              "train_wall_s": wall, "train_env_steps_per_s": sps, "ppo_real_eval": final, "random_real_eval": rand,
              "curve": curve, "gif": str(gif), "plot": str(plot)}
    (out / "report.json").write_text(json.dumps(report, indent=2))
    note = f" (interrupted: {steps} of {a.timesteps} steps; continue with --resume)" if interrupted else ""
    (out / "report.md").write_text(
        f"# PPO trained in {a.env}, evaluated in WorldMap-v0\n\n"
        f"Map `{map_name}`, {task_desc}.\n\n"
        f"{steps} env steps{note} in {wall:.0f} s ({sps:.0f} env steps/s), seed {a.seed}.\n\n"
        "| policy | success rate | mean return | mean length | episodes |\n|---|---|---|---|---|\n"
        + "".join(f"| {n} | {r['success_rate']:.3f} | {r['mean_return']:.3f} | {r['mean_length']:.1f} | {r['episodes']} |\n"
                  for n, r in (("random", rand), (f"PPO ({a.env})", final)))
        + "\n![success rate in the real env against training steps](curve.png)\n\n![evaluation episodes](eval.gif)\n")
    print(f"PPO ({a.env}, {task_desc}, map {map_name}){note}: real-env success {final['success_rate']:.3f} vs random {rand['success_rate']:.3f}; "
          f"{sps:.0f} env steps/s; report {out / 'report.md'}, GIF {gif}, curve {plot}, tensorboard {out / 'tb'}")
    return report


def main(argv=None) -> dict:
    import tyro

    args = tyro.cli(Args, args=argv, description=__doc__.split("\n\n")[0])
    try:
        return train(args)
    except (CheckpointError, FileNotFoundError, ValueError) as e:  # bad maps, checkpoints, devices, env settings
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from e

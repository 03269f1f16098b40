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

from world_models.io.checkpoint import CheckpointError, atomic_save, safe_load
from worldgen_core.cli import run_cli
from worldgen_core.dynamics import TASKS, TaskConfig
from worldgen_core.files import atomic_write, file_sha256, sigterm_as_interrupt
from worldgen_core.runs import RUN_MARKERS, check_resume_args, claim_run_dir, flag, record_args, release_run_dir
from worldgen_core.simulator import Simulator
from worldgen_core.world import WorldCore
from worldgen_env.dream import default_checkpoint

from .evaluation import evaluate_real, plot_curves, random_policy, record_gif, sb3_policy
from .policy import EXTRACTORS
from .vec_env import make_sb3_vec_env

__all__ = [
    "Args",
    "make_ppo",
    "task_config",
    "task_kwargs",
    "train",
    "train_or_reuse",
    "reusable",
    "run_identity",
    "main",
]

ENVS = ("WorldMap-v0", "DreamWorldMap-v0")
#: settings a --resume may change (when to stop, how to report); every other one must match the run's
RESUME_MAY_CHANGE = {
    "out",
    "resume",
    "timesteps",
    "progress",
    "device",
    "eval_episodes",
    "eval_every",
    "eval_at",
    "ckpt_every",
}


@dataclass
class Args:
    """Train PPO in WorldMap-v0 or DreamWorldMap-v0 and evaluate it in WorldMap-v0."""

    env: str = "DreamWorldMap-v0"
    """WorldMap-v0 (real) | DreamWorldMap-v0 (the world model's dream)"""
    task: str = "near"
    """near (goal 3-7 moves, in view at the start) | far (goal 8-12 moves, never in view at the start; 64-step
    episodes)"""
    map: str | None = None
    """world-map image for training, evaluation and the GIF (default: data/world_map.png)"""
    goal_distance: tuple[int, int] | None = None
    """override the task's goal range: MIN MAX moves"""
    max_episode_steps: int | None = None
    """override the task's episode length"""
    out: str = "runs/agent"
    """run folder: tensorboard logs (tb/), checkpoint.pt, model.zip, report.md/json, eval.gif; must not hold another
    run"""
    timesteps: int = 30_000
    """environment steps of training (in all, counting the steps done before a --resume); the near task's real-env
    success passes 0.97 by 10k steps in the dream (4 seeds, docs/agents.md): 30k keeps a 3x margin; the far task needs
    100k+"""
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
    far-task transfer 0.34-0.45x -> 1.02-1.06x of real, docs/agents.md)"""
    dream_dtype: str = "auto"
    """autocast dtype of the dream: auto (bfloat16 on a GPU or a CPU with AMX, else float32) | bfloat16 | float32"""
    extractor: str = "correlation"
    """correlation (cost volume over move displacements) | place (+ a per-view place embedding: the far task) | stacked
    (6-channel CNN) | siamese"""
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
    eval_at: tuple[int, ...] = ()
    """also evaluate at these env steps (e.g. the early points of a sample-efficiency curve)"""
    ckpt_every: int = 10_000
    """environment steps between checkpoints (checkpoint.pt; 0: only at the end and on interruption)"""
    resume: bool = False
    """continue the run in --out from its checkpoint.pt, up to --timesteps in all"""
    device: str = "auto"
    progress: bool = True


#: the settings of the dream (every one refused with the real env, which would ignore it)
DREAM_FIELDS = ("world_model", *(f.name for f in dataclasses.fields(Args) if f.name.startswith("dream_")))
#: what a run is a run of (:func:`run_identity`), beside its checkpoint and report
IDENTITY_FILE = "identity.json"
#: the keys an agent checkpoint.pt holds
CHECKPOINT_KEYS = ("policy", "optimizer", "num_timesteps", "curve", "train_wall_s", "args")


def task_kwargs(a: Args) -> dict:
    """The env keyword arguments of the run's map and task (training env, evaluation, random baseline, GIF)."""
    kw = {k: v for k, v in TASKS[a.task].items()}
    if a.goal_distance is not None:
        kw["goal_distance"] = tuple(a.goal_distance)
    if a.max_episode_steps is not None:
        kw["max_episode_steps"] = a.max_episode_steps
    return {"map_path": a.map, **kw}


def task_config(a: Args) -> TaskConfig:
    """The run's task as the core's :class:`TaskConfig` (goal range, goal out of view)."""
    kw = task_kwargs(a)
    return TaskConfig(**{k: v for k, v in kw.items() if k in ("goal_distance", "goal_out_of_view")})


def make_ppo(a: Args, env, seed: int, tensorboard_log: str | Path | None = None, device: str | None = None) -> PPO:
    """SB3 PPO on ``env`` with ``a``'s settings and policy extractor, seeded with ``seed``."""
    return PPO(
        "MultiInputPolicy",
        env,
        learning_rate=a.learning_rate,
        n_steps=a.n_steps,
        batch_size=min(a.batch_size, a.n_steps * a.n_envs),
        n_epochs=a.n_epochs,
        gamma=a.gamma,
        gae_lambda=a.gae_lambda,
        ent_coef=a.ent_coef,
        clip_range=a.clip_range,
        policy_kwargs=dict(features_extractor_class=EXTRACTORS[a.extractor]),
        tensorboard_log=None if tensorboard_log is None else str(tensorboard_log),
        seed=seed,
        device=device or a.device,
        verbose=0,
    )


def _validate(a: Args) -> None:
    if a.task not in TASKS:
        raise SystemExit(f"error: --task must be one of {sorted(TASKS)}, got {a.task!r}")
    if a.map is not None and not Path(a.map).is_file():
        raise SystemExit(f"error: --map {a.map!r} is not a file; pass an image (PNG, JPEG, ...)")
    if a.max_episode_steps is not None and a.max_episode_steps < 1:
        raise SystemExit(f"error: --max-episode-steps must be >= 1, got {a.max_episode_steps}")
    if a.env not in ENVS:
        raise SystemExit(f"error: --env must be one of {ENVS}, got {a.env!r}")
    if a.env != "DreamWorldMap-v0":
        given = [
            flag(f.name) for f in dataclasses.fields(Args) if f.name in DREAM_FIELDS and getattr(a, f.name) != f.default
        ]
        if given:
            raise SystemExit(
                f"error: {', '.join(given)} {'is a setting' if len(given) == 1 else 'are settings'} of the dream; "
                f"use {'it' if len(given) == 1 else 'them'} with --env DreamWorldMap-v0, not {a.env} (which would "
                "ignore "
                f"{'it' if len(given) == 1 else 'them'})"
            )
    if a.extractor not in EXTRACTORS:
        raise SystemExit(f"error: --extractor must be one of {sorted(EXTRACTORS)}, got {a.extractor!r}")
    for name in ("timesteps", "n_envs", "n_steps", "batch_size", "n_epochs", "eval_episodes"):
        if getattr(a, name) < 1:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")
    if a.batch_size < 2:
        raise SystemExit(
            f"error: --batch-size must be >= 2 (PPO normalises advantages over each minibatch), got {a.batch_size}"
        )
    if a.n_steps * a.n_envs < 2:
        raise SystemExit(
            f"error: --n-steps x --n-envs must be >= 2 (PPO normalises advantages over a rollout), got {a.n_steps} x "
            f"{a.n_envs}"
        )
    if any(p < 1 for p in a.eval_at):
        raise SystemExit(f"error: --eval-at takes env steps >= 1, got {list(a.eval_at)}")
    for name in ("eval_every", "ckpt_every"):
        if getattr(a, name) < 0:
            raise SystemExit(
                f"error: --{name.replace('_', '-')} must be >= 0 (0: only at the end), got {getattr(a, name)}"
            )
    checks = {
        "learning_rate": a.learning_rate > 0,
        "gamma": 0 < a.gamma <= 1,
        "gae_lambda": 0 <= a.gae_lambda <= 1,
        "ent_coef": a.ent_coef >= 0,
        "clip_range": a.clip_range > 0,
        "shaping": math.isfinite(a.shaping),
    }
    for name, ok in checks.items():
        v = getattr(a, name)
        if not (ok and math.isfinite(v)):
            raise SystemExit(
                f"error: --{name.replace('_', '-')} {v!r} is out of range (learning-rate > 0, gamma in (0, 1], "
                "gae-lambda in [0, 1], ent-coef >= 0, clip-range > 0, all finite)"
            )


def world_model_of(a: Args, simulator_id: dict | None = None) -> dict | None:
    """The world model the run dreams with: None for the real env, ``simulator_id`` for a given
    simulator, else the checkpoint (``--world-model`` or the dream's default for the map) and its sha256."""
    if a.env != "DreamWorldMap-v0":
        return None
    if simulator_id is not None:
        return dict(simulator_id)
    path = Path(a.world_model) if a.world_model is not None else default_checkpoint(a.map)
    if not path.is_file():
        raise FileNotFoundError(
            f"world-model checkpoint {str(path)!r} does not exist; pass --world-model PATH to a train_world.py "
            "checkpoint"
        )
    return {"checkpoint": str(path), "sha256": file_sha256(path)}


def run_identity(a: Args, simulator_id: dict | None = None) -> dict:
    """What a run is a run of: its settings (all but those a ``--resume`` may change), the map's
    fingerprint (its pixels, not its file name) and the world model it dreams with (:func:`world_model_of`)."""
    ident = {k: v for k, v in dataclasses.asdict(a).items() if k not in RESUME_MAY_CHANGE}
    ident["map_fingerprint"] = WorldCore(a.map).fingerprint
    ident["world_model"] = world_model_of(a, simulator_id)
    return json.loads(json.dumps(ident))  # as it reads back from identity.json (tuples as lists)


def _identity_diff(saved: dict, now: dict) -> str:
    return ", ".join(
        f"{k} {now.get(k)!r} (the run has {saved.get(k)!r})"
        for k in sorted(set(saved) | set(now))
        if saved.get(k) != now.get(k)
    )


def reusable(a: Args, simulator_id: dict | None = None) -> dict | bool | None:
    """What ``a.out`` holds for the run ``a``: None (nothing: train it), False (an unfinished run of
    exactly these settings, model and map: resume it) or the finished run's report (reuse it).
    A folder holding a run of anything else (another model, checkpoint file, map, task or budget)
    is a ``ValueError``: results are never attributed to the wrong model or map."""
    out = Path(a.out)
    if not any((out / m).exists() for m in RUN_MARKERS):
        return None
    ident, saved_path = run_identity(a, simulator_id), out / IDENTITY_FILE
    saved = json.loads(saved_path.read_text()) if saved_path.is_file() else None
    if saved != ident:
        why = (
            _identity_diff(saved, ident)
            if saved is not None
            else f"it has no {IDENTITY_FILE}, so which model and map it ran is unknown"
        )
        raise ValueError(
            f"{out} holds a run of something else: {why}; it was neither reused nor changed. "
            "Pass a new --out (or remove that folder)"
        )
    if (out / "report.json").is_file():
        rep = json.loads((out / "report.json").read_text())
        asked = rep.get("timesteps_asked", rep.get("timesteps"))  # (PPO rounds the steps up to whole rollouts)
        if not rep.get("interrupted") and asked == a.timesteps and rep["ppo_real_eval"]["episodes"] == a.eval_episodes:
            return rep
        if asked != a.timesteps and rep.get("timesteps", 0) > a.timesteps:
            raise ValueError(
                f"{out} holds a run of {rep['timesteps']} env steps, more than the {a.timesteps} asked; it was neither "
                "reused "
                f"nor changed. Ask for {asked} steps, or pass a new --out"
            )
    return False


def train_or_reuse(a: Args, simulator: Callable[[], Simulator] | None = None, simulator_id: dict | None = None) -> dict:
    """The report of the run ``a``: reused when ``a.out`` holds it finished, resumed when unfinished,
    trained when the folder is new (:func:`reusable`; a folder holding anything else is refused)."""
    found = reusable(a, simulator_id)
    if isinstance(found, dict):
        return found
    resume = found is False and (Path(a.out) / "checkpoint.pt").exists()
    return train(dataclasses.replace(a, resume=resume), simulator, simulator_id)


def _load_agent_checkpoint(path: Path) -> dict:
    """An agent ``checkpoint.pt``; one ``error:`` line for anything else (random bytes, a list, a
    world-model checkpoint, a dict missing what a resume needs)."""
    try:
        ck = safe_load(path, "agent checkpoint")
    except CheckpointError as e:
        raise SystemExit(f"error: {e}") from e
    if isinstance(ck, dict) and "config" in ck and "model" in ck:
        raise SystemExit(
            f"error: {path} is a world-model checkpoint (train_world.py), not an agent's; --resume continues a "
            "train_agent.py run from its own checkpoint.pt"
        )
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(ck, dict) or k not in ck]
    if missing or not isinstance(ck["args"], dict):
        what = (
            f"a {type(ck).__name__}" if not isinstance(ck, dict) else f"a dict without {missing or ['args as a dict']}"
        )
        raise SystemExit(
            f"error: {path} is not a train_agent.py checkpoint ({what}); --resume needs the checkpoint.pt a run wrote"
        )
    return ck


class RealEvalCallback(BaseCallback):
    """Every ``every`` env steps: success rate etc. in the REAL env, logged to tensorboard; every
    ``ckpt_every`` env steps (between rollouts, after an update): ``save()``."""

    def __init__(
        self,
        every: int,
        episodes: int,
        curve: list,
        ckpt_every: int = 0,
        save=None,
        start: int = 0,
        env_kwargs: dict | None = None,
        at: tuple[int, ...] = (),
    ):
        super().__init__()
        self.every, self.episodes, self.curve, self.env_kwargs = every, episodes, curve, env_kwargs or {}
        self.ckpt_every, self.save, self.start = ckpt_every, save, start
        self._next = (start // every + 1) * every if every else 0
        self._next_ckpt = (start // ckpt_every + 1) * ckpt_every if ckpt_every else 0
        self._at = sorted(p for p in set(at) if p > start)  # the extra points still to come

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
        n, due = self.num_timesteps, False
        if self.every and n >= self._next:
            self._next, due = (n // self.every + 1) * self.every, True
        while self._at and n >= self._at[0]:
            self._at.pop(0)
            due = True
        if due:
            self._evaluate()
        return True


def train(a: Args, simulator: Callable[[], Simulator] | None = None, simulator_id: dict | None = None) -> dict:
    """Train and evaluate as ``a`` says. ``simulator``: for ``DreamWorldMap-v0``, a maker of the
    simulator to dream with (any :class:`worldgen_core.simulator.Simulator`) instead of the
    checkpoint ``a.world_model``; called once. ``simulator_id``: what names that simulator in the
    run's identity and report (e.g. ``{"spec": ..., "sha256": ...}``). The run folder is locked while
    it runs (:func:`worldgen_core.runs.claim_run_dir`)."""
    try:
        return _train(a, simulator, simulator_id)
    finally:
        release_run_dir(a.out)


def _train(a: Args, simulator: Callable[[], Simulator] | None, simulator_id: dict | None) -> dict:
    _validate(a)
    if simulator is not None and (a.env != "DreamWorldMap-v0" or a.world_model is not None):
        raise ValueError(
            "simulator= replaces the dream's checkpoint: use it with --env DreamWorldMap-v0 and no --world-model"
        )
    task_kw = task_kwargs(a)
    try:  # the map and the task, checked before anything is written
        WorldCore(task_kw["map_path"], task_config(a))
    except ValueError as e:
        raise SystemExit(f"error: {e}") from e
    out = claim_run_dir(a.out, a.resume)
    ck, changed = None, None
    if a.resume:
        if not (out / "checkpoint.pt").exists():
            raise SystemExit(
                f"error: --resume but {out / 'checkpoint.pt'} does not exist; start the run without --resume (and a "
                "new --out)"
            )
        ck = _load_agent_checkpoint(out / "checkpoint.pt")
        changed = check_resume_args(ck["args"], dataclasses.asdict(a), RESUME_MAY_CHANGE, str(out))
        if ck["num_timesteps"] >= a.timesteps:
            print(f"{out} already has {ck['num_timesteps']} of --timesteps {a.timesteps}: evaluating it")
    ident = run_identity(a, simulator_id)
    if a.resume and (out / IDENTITY_FILE).is_file():
        saved = json.loads((out / IDENTITY_FILE).read_text())
        if saved != ident:  # the same flags, but another map image or world-model file behind them
            raise SystemExit(
                f"error: --resume of a run in {out} whose map or world model changed: {_identity_diff(saved, ident)}; "
                "resume with the run's own, or start a new run with a new --out"
            )
    record_args(out, dataclasses.asdict(a), changed, ck["num_timesteps"] if ck else None)
    atomic_write(out / IDENTITY_FILE, lambda f: f.write(json.dumps(ident, indent=2).encode()))
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
    model = make_ppo(a, env, a.seed, tensorboard_log=out / "tb")
    curve: list = []
    wall_before = 0.0
    if ck is not None:
        try:
            model.policy.load_state_dict(ck["policy"])
            model.policy.optimizer.load_state_dict(ck["optimizer"])
        except (RuntimeError, KeyError, ValueError, TypeError) as e:
            env.close()
            first = str(e).strip().splitlines()
            raise SystemExit(
                f"error: {out / 'checkpoint.pt'} does not fit this run's policy "
                f"({first[-1].strip() if first else type(e).__name__}); "
                "it was written by another version or extractor, or altered"
            ) from e
        model.num_timesteps = int(ck["num_timesteps"])
        curve = [tuple(p) for p in ck["curve"]]
        wall_before = float(ck["train_wall_s"])
        print(f"resumed {out / 'checkpoint.pt'} at {model.num_timesteps} env steps")
    t0 = time.perf_counter()
    wall = lambda: wall_before + time.perf_counter() - t0

    def finite() -> bool:
        return all(bool(torch.isfinite(p).all()) for p in model.policy.parameters())

    def save_checkpoint() -> None:
        if not finite():
            return  # never replace the last good checkpoint with a non-finite policy
        atomic_save(
            out / "checkpoint.pt",
            {
                "policy": model.policy.state_dict(),
                "optimizer": model.policy.optimizer.state_dict(),
                "num_timesteps": int(model.num_timesteps),
                "curve": [list(p) for p in curve],
                "train_wall_s": wall(),
                "args": dataclasses.asdict(a),
            },
        )

    if ck is None:
        save_checkpoint()  # a run killed before its first checkpoint still resumes (from step 0)
    callback = RealEvalCallback(
        a.eval_every,
        a.eval_episodes,
        curve,
        a.ckpt_every,
        save_checkpoint,
        start=model.num_timesteps,
        env_kwargs=task_kw,
        at=tuple(a.eval_at),
    )
    sigterm_as_interrupt()
    interrupted = False
    try:
        remaining = a.timesteps - model.num_timesteps
        if remaining > 0:
            model.learn(
                remaining, callback=callback, progress_bar=a.progress, tb_log_name="ppo", reset_num_timesteps=ck is None
            )
    except ValueError:
        if finite():
            raise
        env.close()
        raise FloatingPointError(
            f"the policy became non-finite (NaN) at about {model.num_timesteps} env steps (training diverged); "
            f"stopping. The last good checkpoint is {out / 'checkpoint.pt'}; try a lower --learning-rate or "
            "--clip-range, then --resume"
        ) from None
    except KeyboardInterrupt:
        interrupted = True
        print(
            f"\ninterrupted at {model.num_timesteps} env steps: saving the checkpoint, model and report "
            f"(continue with --resume --out {out})",
            file=sys.stderr,
        )
    save_checkpoint()
    atomic_write(out / "model.zip", model.save)  # SB3's model.zip, never half-written
    env.close()
    report = _report(a, out, model, curve, wall(), interrupted, ident)
    if interrupted:
        raise SystemExit(130)
    return report


def _report(a: Args, out: Path, model: PPO, curve: list, wall: float, interrupted: bool, ident: dict) -> dict:
    steps = int(model.num_timesteps)
    task_kw = task_kwargs(a)
    final = evaluate_real(sb3_policy(model), n_episodes=a.eval_episodes, **task_kw)
    rand = evaluate_real(random_policy(a.seed), n_episodes=a.eval_episodes, **task_kw)
    gif = record_gif(sb3_policy(model), out / "eval.gif", **task_kw)
    plot = plot_curves(
        {f"PPO ({a.env})": [curve + [(steps, final["success_rate"])]]}, rand["success_rate"], out / "curve.png"
    )
    sps = steps / max(wall, 1e-9)
    map_name = a.map or "data/world_map.png"
    task_desc = (
        f"task {a.task!r}: goal {task_kw['goal_distance'][0]}-{task_kw['goal_distance'][1]} moves"
        f"{', out of view at the start' if task_kw['goal_out_of_view'] else ''}, {task_kw['max_episode_steps']}-step "
        "episodes"
    )
    wm = ident["world_model"]
    dreamer = (
        ""
        if wm is None
        else (
            f"world model `{wm['checkpoint']}` (sha256 {wm['sha256'][:16]}...)"
            if "checkpoint" in wm
            else f"simulator `{wm.get('spec', wm)}`"
        )
    )
    report = {
        "env": a.env,
        "world_model": wm,
        "map": map_name,
        "map_fingerprint": ident["map_fingerprint"],
        "task": a.task,
        "task_kwargs": {k: v for k, v in task_kw.items() if k != "map_path"},
        "timesteps": steps,
        "timesteps_asked": a.timesteps,
        "interrupted": interrupted,
        "seed": a.seed,
        "train_wall_s": wall,
        "train_env_steps_per_s": sps,
        "ppo_real_eval": final,
        "random_real_eval": rand,
        "curve": curve,
        "gif": str(gif),
        "plot": str(plot),
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    note = f" (interrupted: {steps} of {a.timesteps} steps; continue with --resume)" if interrupted else ""
    (out / "report.md").write_text(
        f"# PPO trained in {a.env}, evaluated in WorldMap-v0\n\n"
        f"Map `{map_name}`, {task_desc}.{f' Dreamed by {dreamer}.' if dreamer else ''}\n\n"
        f"{steps} env steps{note} in {wall:.0f} s ({sps:.0f} env steps/s), seed {a.seed}.\n\n"
        "| policy | success rate | mean return | mean length | episodes |\n|---|---|---|---|---|\n"
        + "".join(
            f"| {n} | {r['success_rate']:.3f} | {r['mean_return']:.3f} | {r['mean_length']:.1f} | {r['episodes']} |\n"
            for n, r in (("random", rand), (f"PPO ({a.env})", final))
        )
        + "\n![success rate in the real env against training steps](curve.png)\n\n![evaluation episodes](eval.gif)\n"
    )
    print(
        f"PPO ({a.env}{', ' + dreamer.replace('`', '') if dreamer else ''}, {task_desc}, map {map_name}){note}:"
        f" real-env success {final['success_rate']:.3f} vs random {rand['success_rate']:.3f}; "
        f"{sps:.0f} env steps/s; report {out / 'report.md'}, GIF {gif}, curve {plot}, tensorboard {out / 'tb'}"
    )
    return report


def main(argv=None) -> dict:
    """The command line: bad maps, checkpoints, devices and env settings end in one ``error:`` line."""
    return run_cli(Args, train, argv, __doc__.split("\n\n")[0])


def cli() -> None:
    """The console script (setup.cfg): ``main`` without its return value, which would become the exit status."""
    main()

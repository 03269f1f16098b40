"""Model-based PPO: learn the world from experience, train the agent in its dream, within a real-step budget.

``python -m agents.model_based --task far --map M --real-steps 40000 --out runs/mb`` (or ``worldgen-model-based``)
repeats one round until the real steps are spent:

1. **collect** ``--round-episodes`` episodes with the current policy (its stochastic moves) in the real env,
   written to a Minari dataset ``OUT/episodes/round-NN-v0`` (:func:`agents.episodes.record`);
2. **update the world model** on every episode so far (``python -m world_models.training --episodes ...``,
   ``--wm-steps`` steps from the previous round's model; the first round starts from ``--world-model``,
   the universal model by default), exported to ``OUT/world/round-NN.pt``;
3. **train PPO in the dream** for ``--dream-steps`` steps: ``DreamWorldMap-v0`` of what the agent has seen
   (:class:`worldgen_core.experience.Experience`): episodes start and end at places whose views were seen,
   the dream's memory holds every pixel seen around the start, and the world model generates only the places
   never seen;
4. **evaluate** in the real env (``--eval-episodes`` episodes; these steps are not training data and are not
   counted in the budget).

The map image is read only by the real env; the world model, the dream and the policy see nothing but the
episodes. Each round's seeds derive from ``--seed`` and the round number, and every phase starts from the
saved state, so a resumed run continues the very curve an uninterrupted one draws.

A run folder holds ``loop.pt`` (the loop's state: policy and optimiser tensors, the curve, which phases of
the running round are done; loaded with ``weights_only=True``), written atomically after every phase;
``--resume`` continues from it (with a larger ``--real-steps``, further). Ctrl-C or SIGTERM saves (within the
dream phase, the policy so far; within the world model's training, its own checkpoint), writes the report for
the rounds done and exits 130. ``report.md`` / ``report.json``, ``curve.png`` (real-env success against real
steps), ``eval.gif`` and tensorboard logs (``tb/``) as ``train_agent.py`` writes them.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from stable_baselines3 import PPO

from world_models.episodes import read_episodes, read_metadata
from world_models.inference import UNIVERSAL_MODEL, resolve_device
from world_models.io.checkpoint import CheckpointError, atomic_save, safe_load
from world_models.io.export import export
from world_models.training import settings as wm
from world_models.training import trainer
from worldgen_core.cli import at_least, input_file, run_cli
from worldgen_core.experience import Experience
from worldgen_core.files import atomic_write, file_sha256, sigterm_as_interrupt
from worldgen_core.runs import check_resume_args, claim_run_dir, record_args, release_run_dir
from worldgen_core.world import WorldCore

from . import training
from .episodes import record
from .evaluation import evaluate_real, plot_curves, random_policy, record_gif, sb3_policy
from .policy import EXTRACTORS
from .vec_env import make_sb3_vec_env

__all__ = ["Args", "PHASES", "run", "main"]

#: the phases of one round, in order
PHASES = ("collect", "world", "dream", "eval")
#: settings a --resume may change: when to stop and how to report
RESUME_MAY_CHANGE = {"out", "resume", "real_steps", "progress", "threads"}


@dataclass
class Args:
    """Model-based PPO: collect real episodes, update the world model on all of them, train PPO in its dream, repeat."""

    task: Literal["near", "far"] = "far"
    """near (goal 3-7 moves, in view at the start) | far (goal 8-12 moves, never in view at the start; 64-step
    episodes)"""
    map: str | None = None
    """world-map image of the real env (default: data/world_map.png); only the real env reads it"""
    out: str = "runs/model_based"
    """run folder: loop.pt, episodes/, world/, tb/, report.md/json, curve.png, eval.gif; must not hold another run"""
    real_steps: int = 10_000
    """real env steps to spend in all (counting those before a --resume); the last round may pass it by less than one
    round's episodes"""
    round_episodes: int = 32
    """real episodes collected per round"""
    dream_steps: int = 40_000
    """PPO env steps in the dream per round"""
    world_model: str = "universal"
    """the world model the first round starts from: universal (data/universal.pt) | PATH of a train_world.py
    checkpoint"""
    wm_steps: int = 150
    """world-model training steps per round, on every episode so far"""
    wm_batch: int | None = None
    """world-model batch (default: 32 on a CPU, 256 on a GPU)"""
    n_envs: int = 16
    extractor: str = "correlation"
    """the policy's feature extractor: correlation | place | stacked | siamese (train_agent.py --extractor)"""
    seed: int = 0
    eval_episodes: int = 100
    """real-env episodes per evaluation (after every round)"""
    device: str = "auto"
    """auto (CUDA if available) | cpu | cuda: the world model's and the policy's"""
    threads: int | None = None
    """torch CPU threads (default: torch's choice)"""
    resume: bool = False
    """continue the run in --out from its loop.pt, up to --real-steps in all"""
    progress: bool = True

    def check(self) -> None:
        """Every value, before any work (a ``ValueError``: one ``error:`` line from the command line)."""
        for name in ("real_steps", "round_episodes", "dream_steps", "wm_steps", "n_envs", "eval_episodes"):
            at_least(f"--{name.replace('_', '-')}", getattr(self, name), 1)
        at_least("--seed", self.seed, 0)
        if self.map is not None:
            input_file("--map", self.map, "world-map image")
        if self.world_model != "universal":
            input_file("--world-model", self.world_model, "world-model checkpoint (train_world.py)")
        if self.extractor not in EXTRACTORS:
            raise ValueError(f"--extractor must be one of {sorted(EXTRACTORS)}, got {self.extractor!r}")
        if self.wm_batch is not None:
            at_least("--wm-batch", self.wm_batch, 1)


def _round_seed(a: Args, r: int) -> int:
    """Round ``r``'s seed, from ``--seed`` and ``r`` (independent streams)."""
    return int(np.random.SeedSequence([a.seed, r]).generate_state(1)[0] % 2**31)


def _agent_args(a: Args) -> training.Args:
    """The PPO settings (train_agent.py's defaults) of the run's task, map and extractor."""
    return training.Args(task=a.task, map=a.map, n_envs=a.n_envs, extractor=a.extractor, seed=a.seed)


def _ppo(a: Args, env, state: dict, seed: int, tb: Path | None = None) -> PPO:
    """A PPO on ``env`` with the run's settings, seeded with ``seed``, holding the policy of ``state``."""
    model = training.make_ppo(_agent_args(a), env, seed, tensorboard_log=tb, device=a.device)
    if state.get("policy") is not None:
        model.policy.load_state_dict(state["policy"])
        model.policy.optimizer.load_state_dict(state["optimizer"])
    model.num_timesteps = int(state["dream_steps"])
    return model


def _policy(a: Args, st: dict, seed: int, task_kw: dict) -> PPO:
    """The policy of ``st`` as a PPO (on a real vector env it never steps: SB3 takes the spaces from it)."""
    env = make_sb3_vec_env("WorldMap-v0", a.n_envs, seed=0, **task_kw)
    ppo = _ppo(a, env, st, seed)
    env.close()
    return ppo


def _experience(a: Args, datasets: list[str]) -> Experience:
    """What the agent has seen: every view and goal picture of the run's episodes, at their places."""
    core = WorldCore(a.map, training.task_config(_agent_args(a)))
    seen = Experience.of(core)
    s = core.task.stride
    for path in datasets:
        for ep in read_episodes(path):
            obs, info = ep["observations"], ep["infos"]
            seen.add(np.asarray(obs["image"]), np.asarray(info["agent_pos"]) // s)
            seen.add(np.asarray(obs["goal"][:1]), np.asarray(info["goal_pos"][:1]) // s)
    return seen


def _state_file(out: Path) -> Path:
    return out / "loop.pt"


def _load_state(out: Path) -> dict:
    try:
        st = safe_load(_state_file(out), "model-based loop state")
    except CheckpointError as e:
        raise SystemExit(f"error: {e}") from e
    if not isinstance(st, dict) or "args" not in st or "done" not in st:
        raise SystemExit(f"error: {_state_file(out)} is not a model-based loop's loop.pt")
    return st


def run(a: Args) -> dict:
    """Run (or resume) the loop as ``a`` says; returns the report. The run folder is locked while it runs."""
    a.check()
    try:
        return _run(a)
    finally:
        release_run_dir(a.out)


def _run(a: Args) -> dict:
    if a.threads:
        torch.set_num_threads(a.threads)
    task_kw = training.task_kwargs(_agent_args(a))
    real_core = WorldCore(a.map, training.task_config(_agent_args(a)))  # the map, checked before anything is written
    out = claim_run_dir(a.out, a.resume)
    if a.resume:
        if not _state_file(out).exists():
            raise SystemExit(f"error: --resume but {_state_file(out)} does not exist; start the run without --resume")
        st = _load_state(out)
        changed = check_resume_args(st["args"], dataclasses.asdict(a), RESUME_MAY_CHANGE, str(out))
        if st["map_fingerprint"] != real_core.fingerprint:
            raise SystemExit(
                f"error: --resume of a run on another map (fingerprint {st['map_fingerprint']}, now "
                f"{real_core.fingerprint}); resume with the run's own map, or start a new run with a new --out"
            )
        print(f"resumed {_state_file(out)}: round {st['round']}, {st['real_steps']} real steps")
    else:
        changed = None
        start = str(UNIVERSAL_MODEL) if a.world_model == "universal" else a.world_model
        st = {
            "round": 0,
            "done": [],
            "real_steps": 0,
            "dream_steps": 0,
            "datasets": [],
            "world_model": start,
            "world_model_sha256": file_sha256(start),
            "policy": None,
            "optimizer": None,
            "curve": [],
            "rounds": [],
            "wall_s": 0.0,
            "phase_dream_steps": 0,
            "map_fingerprint": real_core.fingerprint,
        }
    st["args"] = dataclasses.asdict(a)
    record_args(out, st["args"], changed, st["real_steps"] if a.resume else None)
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(out / "tb" / "loop"))
    sigterm_as_interrupt()
    t0, wall0 = time.perf_counter(), float(st["wall_s"])

    def save() -> None:
        st["wall_s"] = wall0 + time.perf_counter() - t0
        atomic_save(_state_file(out), st)

    if st["policy"] is None:  # the untrained policy, as the first round collects with it: where the curve starts
        ppo = _policy(a, st, _round_seed(a, 0), task_kw)
        st["policy"], st["optimizer"] = ppo.policy.state_dict(), ppo.policy.optimizer.state_dict()
        _evaluate(a, st, ppo, task_kw, writer)
        save()
    interrupted = False
    try:
        while st["real_steps"] < a.real_steps or st["done"]:
            _round(a, st, out, task_kw, writer, save)
    except KeyboardInterrupt:
        interrupted = True
        print(
            f"\ninterrupted in round {st['round']} ({', '.join(st['done']) or 'no phase'} done): saved; continue with "
            f"--resume --out {out}",
            file=sys.stderr,
        )
    except SystemExit as e:  # the world model's training saves on Ctrl-C and exits 130
        if e.code != 130:
            raise
        interrupted = True
    save()
    writer.close()
    report = _report(a, out, st, task_kw, interrupted)
    if interrupted:
        raise SystemExit(130)
    return report


def _round(a: Args, st: dict, out: Path, task_kw: dict, writer, save) -> None:
    """The phases of round ``st["round"]`` not done yet, each saved when done; the round's end moves to the next."""
    r, seed = st["round"], _round_seed(a, st["round"])
    if "collect" not in st["done"]:
        path = out / "episodes" / f"round-{r:02d}-v0"
        if path.exists():  # written whole (a dataset is renamed into place once complete) just before a stop
            steps = int(read_metadata(path)["total_steps"])
        else:
            ppo = _policy(a, st, seed, task_kw)
            torch.manual_seed(seed)  # the policy's stochastic moves
            about = {"policy": f"model-based PPO, round {r}"}
            steps = int(
                record(sb3_policy(ppo, deterministic=False), path, a.round_episodes, a.map, a.task, seed, about)[
                    "steps"
                ]
            )
        st["datasets"].append(str(path))
        st["real_steps"] += steps
        st["rounds"].append({"round": r, "episodes": a.round_episodes, "real_steps": steps})
        st["done"].append("collect")
        save()
    if "world" not in st["done"]:
        st["world_model"] = str(_update_world_model(a, st, out, seed))
        st["world_model_sha256"] = file_sha256(st["world_model"])
        st["rounds"][-1]["world_model"] = {"checkpoint": st["world_model"], "sha256": st["world_model_sha256"]}
        st["done"].append("world")
        save()
    if "dream" not in st["done"]:
        _dream(a, st, out, task_kw, seed, save)
        st["done"].append("dream")
        save()
    if "eval" not in st["done"]:
        _evaluate(a, st, _policy(a, st, seed, task_kw), task_kw, writer)
        st["done"] = []
        st["round"] += 1
        save()


def _update_world_model(a: Args, st: dict, out: Path, seed: int) -> Path:
    """Train the world model on every episode so far, from the previous round's; its exported checkpoint."""
    r = st["round"]
    folder = out / "world" / f"round-{r:02d}"
    gpu = resolve_device(a.device).type == "cuda"
    args = wm.Args(
        experiment="world_flow",
        preset="small",
        cfg=wm.GuidanceArgs(on=True),
        t_sampling="logit_normal",
        episodes=tuple(st["datasets"]),
        pretrained=st["world_model"],
        lr=1e-4,
        steps=a.wm_steps,
        batch_size=a.wm_batch or (256 if gpu else 32),
        seed=seed,
        device=a.device,
        threads=a.threads,
        progress=a.progress,
        eval_every=0,
        cond=wm.CondNoiseArgs(noise=0.05),
        place=wm.PlaceArgs(field=False),
        out=str(folder),
        resume=(folder / "last.pt").exists(),
    )
    print(f"[round {r}] world model: {a.wm_steps} steps on {len(st['datasets'])} datasets ({st['real_steps']} steps)")
    dst = out / "world" / f"round-{r:02d}.pt"
    return export(trainer.train(args), dst, steps=1, cfg_scale=1.0, overwrite=True)  # the run's own file


def _dream(a: Args, st: dict, out: Path, task_kw: dict, seed: int, save) -> None:
    """PPO in the dream of what was seen, for the round's dream steps (continuing an interrupted phase)."""
    seen = _experience(a, st["datasets"])
    kw = {k: v for k, v in task_kw.items() if k != "map_path"}
    env = make_sb3_vec_env(
        "DreamWorldMap-v0",
        a.n_envs,
        seed=seed + st["phase_dream_steps"],
        experience=seen,
        checkpoint=st["world_model"],
        shaping=_agent_args(a).shaping,
        **kw,
    )
    ppo = _ppo(a, env, st, seed + st["phase_dream_steps"], tb=out / "tb")
    left = a.dream_steps - st["phase_dream_steps"]
    before = ppo.num_timesteps
    print(f"[round {st['round']}] PPO in the dream: {left} steps ({int(seen.cells.mean() * 100)}% of the map seen)")
    try:
        ppo.learn(left, tb_log_name="ppo", reset_num_timesteps=False, progress_bar=a.progress)
    finally:  # done or interrupted: the policy so far is the state
        done = ppo.num_timesteps - before
        st["phase_dream_steps"] = 0 if done >= left else st["phase_dream_steps"] + done
        st["dream_steps"] = int(ppo.num_timesteps)
        st["policy"], st["optimizer"] = ppo.policy.state_dict(), ppo.policy.optimizer.state_dict()
        env.close()
        if done < left:
            save()


def _evaluate(a: Args, st: dict, ppo: PPO, task_kw: dict, writer) -> None:
    res = evaluate_real(sb3_policy(ppo), n_episodes=a.eval_episodes, **task_kw)
    st["curve"].append([st["real_steps"], res["success_rate"], st["dream_steps"]])
    for k, v in res.items():
        writer.add_scalar(f"eval_real/{k}", v, st["real_steps"])
    writer.add_scalar("loop/dream_steps", st["dream_steps"], st["real_steps"])
    writer.flush()
    if st["rounds"]:
        st["rounds"][-1]["success_rate"] = res["success_rate"]
    print(
        f"[round {st['round']}] real-env success {res['success_rate']:.3f} after {st['real_steps']} real steps, "
        f"{st['dream_steps']} dream steps"
    )


def _report(a: Args, out: Path, st: dict, task_kw: dict, interrupted: bool) -> dict:
    ppo = _policy(a, st, _round_seed(a, st["round"]), task_kw)
    rand = evaluate_real(random_policy(a.seed), n_episodes=a.eval_episodes, **task_kw)
    gif = record_gif(sb3_policy(ppo), out / "eval.gif", **task_kw)
    curve = [(p[0], p[1]) for p in st["curve"]]
    plot = plot_curves({"model-based PPO": [curve]}, rand["success_rate"], out / "curve.png")
    map_name = a.map or "data/world_map.png"
    report = {
        "method": "model-based PPO",
        "map": map_name,
        "map_fingerprint": st["map_fingerprint"],
        "task": a.task,
        "real_steps": st["real_steps"],
        "real_steps_asked": a.real_steps,
        "dream_steps": st["dream_steps"],
        "rounds": st["rounds"],
        "world_model": {"checkpoint": st["world_model"], "sha256": st["world_model_sha256"]},
        "seed": a.seed,
        "interrupted": interrupted,
        "wall_s": st["wall_s"],
        "final_success_rate": st["curve"][-1][1],
        "random_success_rate": rand["success_rate"],
        "curve": st["curve"],
        "gif": str(gif),
        "plot": str(plot),
    }
    atomic_write(out / "report.json", lambda f: f.write(json.dumps(report, indent=2).encode()))
    note = f" (interrupted in round {st['round']}; continue with --resume)" if interrupted else ""
    rows = "".join(
        f"| {rd['round']} | {rd['real_steps']} | {rd.get('success_rate', float('nan')):.3f} |\n" for rd in st["rounds"]
    )
    atomic_write(
        out / "report.md",
        lambda f: f.write(
            (
                f"# Model-based PPO, evaluated in the real env\n\nMap `{map_name}` (fingerprint "
                f"{st['map_fingerprint']}), task {a.task!r}, seed {a.seed}{note}.\n\n"
                f"{st['real_steps']} real env steps, {st['dream_steps']} dream steps, {len(st['rounds'])} rounds in "
                f"{st['wall_s']:.0f} s; the last world model `{st['world_model']}` (sha256 "
                f"{st['world_model_sha256'][:16]}...).\n\n"
                f"Real-env success: **{report['final_success_rate']:.3f}** (random {rand['success_rate']:.3f}).\n\n"
                "| round | real steps collected | real-env success after it |\n|---|---|---|\n"
                + rows
                + "\n![real-env success against real env steps](curve.png)\n\n![evaluation episodes](eval.gif)\n"
            ).encode()
        ),
    )
    print(
        f"model-based PPO ({a.task}, map {map_name}){note}: real-env success {report['final_success_rate']:.3f} vs "
        f"random {rand['success_rate']:.3f} after {st['real_steps']} real steps; report {out / 'report.md'}"
    )
    return report


def main(argv=None) -> dict:
    return run_cli(Args, run, argv, Args.__doc__.split("\n\n")[0])


def cli() -> None:
    """The console script (setup.cfg): ``main`` without its return value, which would become the exit status."""
    main()


if __name__ == "__main__":
    main()

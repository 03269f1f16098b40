"""PPO (stable-baselines3) in the real or the dreamed WorldMap, evaluated in the real one."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from .evaluation import evaluate_real, plot_curves, random_policy, record_gif, sb3_policy
from .policy import EXTRACTORS
from .vec_env import make_sb3_vec_env

__all__ = ["Args", "train", "main"]

ENVS = ("WorldMap-v0", "DreamWorldMap-v0")


@dataclass
class Args:
    """Train PPO in WorldMap-v0 or DreamWorldMap-v0 and evaluate it in WorldMap-v0."""

    env: str = "DreamWorldMap-v0"
    """WorldMap-v0 (real) | DreamWorldMap-v0 (the world model's dream)"""
    out: str = "runs/agent"
    """run folder: tensorboard logs (tb/), model.zip, report.md/json, eval.gif"""
    timesteps: int = 100_000
    """environment steps of training"""
    n_envs: int = 16
    seed: int = 0
    world_model: str | None = None
    """world-model checkpoint for DreamWorldMap-v0 (default: the shipped data/world_model.pt)"""
    dream_steps: int | None = None
    """sampler steps per dreamed frame (default: the checkpoint's)"""
    dream_cfg_scale: float | None = None
    """CFG weight for dreaming (default: the checkpoint's)"""
    dream_dtype: str = "bfloat16"
    extractor: str = "correlation"
    """correlation (shared CNN + cost volume over move displacements) | stacked (one CNN over 6 channels) | siamese (shared CNN per view)"""
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
    eval_every: int = 20_000
    """environment steps between evaluations in the REAL env (0: only at the end)"""
    eval_episodes: int = 200
    device: str = "auto"
    progress: bool = True


class RealEvalCallback(BaseCallback):
    """Every ``every`` env steps: success rate etc. in the REAL env, logged to tensorboard."""

    def __init__(self, every: int, episodes: int, curve: list):
        super().__init__()
        self.every, self.episodes, self.curve, self._next = every, episodes, curve, every

    def _on_training_start(self) -> None:
        if self.every:
            self._evaluate()  # the untrained policy: where every curve starts

    def _evaluate(self) -> None:
        r = evaluate_real(sb3_policy(self.model), n_episodes=self.episodes)
        for k, v in r.items():
            self.logger.record(f"eval_real/{k}", v)
        self.curve.append((self.num_timesteps, r["success_rate"]))
        self.logger.dump(self.num_timesteps)

    def _on_step(self) -> bool:
        if self.every and self.num_timesteps >= self._next:
            self._next += self.every
            self._evaluate()
        return True


def train(a: Args) -> dict:
    if a.env not in ENVS:
        raise SystemExit(f"error: --env must be one of {ENVS}, got {a.env!r}")
    if a.extractor not in EXTRACTORS:
        raise SystemExit(f"error: --extractor must be one of {sorted(EXTRACTORS)}, got {a.extractor!r}")
    if a.timesteps < 1 or a.n_envs < 1:
        raise SystemExit("error: --timesteps and --n-envs must be >= 1")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "args.json").write_text(json.dumps(dataclasses.asdict(a), indent=2))
    torch.manual_seed(a.seed)
    kw = dict(shaping=a.shaping)
    if a.env == "DreamWorldMap-v0":
        kw.update(checkpoint=a.world_model, steps=a.dream_steps, cfg_scale=a.dream_cfg_scale, dtype=a.dream_dtype)
    env = make_sb3_vec_env(a.env, a.n_envs, seed=a.seed, **kw)
    model = PPO("MultiInputPolicy", env, learning_rate=a.learning_rate, n_steps=a.n_steps, batch_size=min(a.batch_size, a.n_steps * a.n_envs),
                n_epochs=a.n_epochs, gamma=a.gamma, gae_lambda=a.gae_lambda, ent_coef=a.ent_coef, clip_range=a.clip_range,
                policy_kwargs=dict(features_extractor_class=EXTRACTORS[a.extractor]), tensorboard_log=str(out / "tb"),
                seed=a.seed, device=a.device, verbose=0)
    curve: list = []
    t0 = time.perf_counter()
    model.learn(a.timesteps, callback=RealEvalCallback(a.eval_every, a.eval_episodes, curve), progress_bar=a.progress, tb_log_name="ppo")
    wall = time.perf_counter() - t0
    model.save(out / "model.zip")
    env.close()
    final = evaluate_real(sb3_policy(model), n_episodes=a.eval_episodes)
    rand = evaluate_real(random_policy(a.seed), n_episodes=a.eval_episodes)
    gif = record_gif(sb3_policy(model), out / "eval.gif")
    plot = plot_curves({f"PPO ({a.env})": [curve + [(a.timesteps, final["success_rate"])]]}, rand["success_rate"], out / "curve.png")
    report = {"env": a.env, "timesteps": a.timesteps, "seed": a.seed, "train_wall_s": wall, "train_env_steps_per_s": a.timesteps / wall,
              "ppo_real_eval": final, "random_real_eval": rand, "curve": curve, "gif": str(gif), "plot": str(plot)}
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(
        f"# PPO trained in {a.env}, evaluated in WorldMap-v0\n\n"
        f"{a.timesteps} env steps in {wall:.0f} s ({a.timesteps / wall:.0f} env steps/s), seed {a.seed}.\n\n"
        "| policy | success rate | mean return | mean length | episodes |\n|---|---|---|---|---|\n"
        + "".join(f"| {n} | {r['success_rate']:.3f} | {r['mean_return']:.3f} | {r['mean_length']:.1f} | {r['episodes']} |\n"
                  for n, r in (("random", rand), (f"PPO ({a.env})", final)))
        + "\n![success rate in the real env against training steps](curve.png)\n\n![evaluation episodes](eval.gif)\n")
    print(f"PPO ({a.env}): real-env success {final['success_rate']:.3f} vs random {rand['success_rate']:.3f}; "
          f"{a.timesteps / wall:.0f} env steps/s; report {out / 'report.md'}, GIF {gif}, curve {plot}, tensorboard {out / 'tb'}")
    return report


def main(argv=None) -> dict:
    import tyro

    return train(tyro.cli(Args, args=argv, description=__doc__))

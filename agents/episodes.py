"""Record episodes of a policy in the real env to a Minari dataset (Farama's format for offline data).

``python -m agents.episodes --policy random|PATH --episodes N --map M --task near|far --seed S --out DATASET_DIR``

Each episode is run in ``WorldMap-v0`` (``--task near``) or ``WorldMapFar-v0`` (``--task far``) on the map
(:func:`run_episode`) and written with :func:`minari.create_dataset_from_buffers`: the dataset holds every
observation (the view and the goal view), action, reward, termination, truncation and ``info``
(``agent_pos``, ``goal_pos``, ``distance``, ``is_success``) of every step, and the reset seed of every
episode. ``--out`` is the dataset's folder in Minari's local layout: its name is the dataset id
(``NAME-vN``), its parent folder the datasets root, so ``MINARI_DATASETS_PATH=PARENT`` makes
``minari.load_dataset(NAME-vN)`` find it. The dataset's metadata (``metadata.json``) holds, under
``"worldgen"``, the map's path, fingerprint and size in pixels (``map_size``, (H, W)), the task, the policy
(and its file's sha256), the seed and the number of episodes, so a dataset names the map it shows;
:mod:`world_models.episodes` reads it back without Gymnasium or Minari.

The same seed gives the same dataset: episode ``i`` is reset with a seed drawn from ``--seed`` and ``i``
(:func:`episode_seeds`) and the random policy draws its moves from ``--seed``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import gymnasium as gym
import numpy as np

import worldgen_env  # noqa: F401  (registers the envs)
from worldgen_core import __version__
from worldgen_core.cli import at_least, input_file, output_dir, run_cli
from worldgen_core.dynamics import TASKS
from worldgen_core.files import file_sha256

from .evaluation import Policy, random_policy, sb3_policy

__all__ = ["ENV_OF_TASK", "episode_seeds", "load_policy", "new_dataset_id", "record", "run_episode", "main"]

#: the real env of each task
ENV_OF_TASK = {"near": "WorldMap-v0", "far": "WorldMapFar-v0"}


def episode_seeds(seed: int, episodes: int) -> list[int]:
    """The reset seed of each episode: independent streams from ``seed`` (datasets of nearby seeds share no episode).

    >>> episode_seeds(0, 3) == episode_seeds(0, 5)[:3], len(set(episode_seeds(0, 100) + episode_seeds(1, 100)))
    (True, 200)
    """
    return [int(np.random.SeedSequence(seed, spawn_key=(i,)).generate_state(1)[0]) for i in range(episodes)]


def load_policy(policy: str, seed: int) -> tuple[Policy, dict]:
    """``random`` (seeded) or the path of an SB3 PPO ``model.zip`` (deterministic moves) -> (policy on batched
    observations, what the policy is, for the dataset's metadata)."""
    if policy == "random":
        return random_policy(seed), {"policy": "random"}
    path = input_file("--policy", policy, "PPO model.zip written by train_agent.py, or 'random'")
    from stable_baselines3 import PPO

    try:
        model = PPO.load(path, device="cpu")
    except Exception as e:  # a zip of something else, a truncated file, ...
        raise ValueError(
            f"--policy {policy!r} is not an SB3 PPO model.zip ({type(e).__name__}: {e}); "
            "pass the model.zip of a train_agent.py run, or 'random'"
        ) from e
    return sb3_policy(model), {"policy": str(path), "policy_sha256": file_sha256(path)}


def new_dataset_id(out: Path) -> str:
    """The Minari dataset id that the new dataset folder ``out`` is named (``NAME-vN``), or a ``ValueError`` (a bad
    name, an existing ``out``: a dataset is never overwritten, a parent folder that cannot be written)."""
    from minari.dataset.minari_dataset import DATASET_ID_RE

    m = DATASET_ID_RE.fullmatch(out.name)
    if m is None or m.group("version") is None or m.group("namespace"):
        raise ValueError(
            f"--out {str(out)!r}: the folder's name is the Minari dataset id, NAME-vVERSION "
            f"(letters, digits, - and _; e.g. {str(out.parent / 'far-random-v0')!r})"
        )
    if out.exists() or out.is_symlink():
        raise ValueError(
            f"--out {str(out)!r} exists; nothing was written. Pass a new folder (a dataset is never overwritten)"
        )
    output_dir("--out", out.parent)
    return out.name


@contextlib.contextmanager
def _datasets_root(root: Path):
    """Minari's datasets folder set to ``root`` for the block (``MINARI_DATASETS_PATH``, restored after)."""
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root.resolve())
    try:
        yield
    finally:
        if old is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def run_episode(env: gym.Env, policy: Policy, seed: int):
    """One episode of ``policy`` (batched observations -> actions) from ``env.reset(seed=seed)``, as Minari's
    :class:`~minari.data_collector.EpisodeBuffer`: the T+1 observations and infos (from the reset on), T actions,
    rewards, terminations and truncations."""
    from minari.data_collector import EpisodeBuffer

    obs, info = env.reset(seed=seed)
    observations, infos, actions, rewards, terms, truncs = [obs], [info], [], [], [], []
    done = False
    while not done:
        a = int(np.asarray(policy({k: v[None] for k, v in obs.items()})).reshape(-1)[0])
        obs, r, term, trunc, info = env.step(a)
        for lst, v in ((observations, obs), (infos, info), (actions, a), (rewards, r), (terms, term), (truncs, trunc)):
            lst.append(v)
        done = term or trunc
    stack = lambda dicts: {k: np.stack([np.asarray(d[k]) for d in dicts]) for k in dicts[0]}  # noqa: E731
    return EpisodeBuffer(
        seed=seed,
        observations=stack(observations),
        actions=np.asarray(actions, np.int64),
        rewards=list(map(float, rewards)),
        terminations=list(map(bool, terms)),
        truncations=list(map(bool, truncs)),
        infos=stack(infos),
    )


def record(
    policy: Policy,
    out: str | Path,
    episodes: int,
    map_path: str | None = None,
    task: str = "near",
    seed: int = 0,
    about: dict | None = None,
    jpeg: bool = False,
    author: str | None = None,
    chunk: int = 16,
) -> dict:
    """Run ``episodes`` episodes of ``policy`` (batched observations -> actions) and write them to the Minari
    dataset ``out`` (a new folder named ``NAME-vN``); returns the dataset's ``"worldgen"`` metadata with its
    ``steps`` and ``size_mb``. ``jpeg``: Minari's JPEG encoding of the views (smaller, lossy); off, they are
    stored exactly. The dataset is written in a hidden folder beside ``out`` (``chunk`` episodes in memory at a
    time) and renamed to ``out`` once complete: ``out`` never holds part of a dataset."""
    import minari

    out = Path(out)
    dataset_id = new_dataset_id(out)
    env = gym.make(ENV_OF_TASK[task], map_path=map_path)
    core = env.unwrapped.core
    meta = {
        "map_path": core.map_name,
        "map_fingerprint": core.fingerprint,
        "map_size": [int(n) for n in core.world.shape[:2]],
        "task": task,
        "env_id": ENV_OF_TASK[task],
        "view_size": core.task.view_size,
        "stride": core.task.stride,
        "task_kwargs": dict(TASKS[task]),
        **(about or {"policy": "custom"}),
        "seed": seed,
        "episodes": episodes,
        "worldgen_version": __version__,
    }
    description = (
        f"{episodes} episodes of {meta['policy']} in {ENV_OF_TASK[task]} on map {core.map_name} "
        f"(fingerprint {core.fingerprint}), seed {seed}"
    )
    with (
        tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp,
        _datasets_root(Path(tmp)),
        warnings.catch_warnings(),
    ):
        # Minari's advice to name an e-mail, a code link, ...: the metadata says what the data is
        warnings.filterwarnings("ignore", category=UserWarning, module=r"minari(\.|$)")
        ds, seeds = None, episode_seeds(seed, episodes)
        for start in range(0, episodes, chunk):
            buffers = [run_episode(env, policy, s) for s in seeds[start : start + chunk]]
            if ds is None:
                ds = minari.create_dataset_from_buffers(
                    dataset_id,
                    buffers,
                    env,
                    algorithm_name=meta["policy"],
                    author=author,
                    description=description,
                    jpeg_encoding=jpeg,
                )
            else:
                ds.storage.update_episodes(buffers)
        ds.storage.update_metadata({"worldgen": meta})
        steps, size = int(ds.storage.total_steps), float(ds.storage.get_size())
        new_dataset_id(out)  # still free
        os.rename(Path(tmp) / dataset_id, out)
    env.close()
    return {**meta, "steps": steps, "size_mb": size}


@dataclass
class CliArgs:
    """Record episodes of a policy in the real env (WorldMap-v0 / WorldMapFar-v0) to a Minari dataset.

    The dataset's metadata names the map (path and fingerprint), the task, the policy and the seed;
    read it back with ``world_models.episodes.load_transitions(DATASET_DIR)``.
    """

    out: Path
    """the new dataset's folder; its name is the Minari dataset id NAME-vN (e.g. runs/datasets/far-random-v0); an
    existing one is refused"""
    policy: str = "random"
    """random (seeded by --seed) | PATH of an SB3 PPO model.zip written by train_agent.py (deterministic moves)"""
    episodes: int = 100
    map: str | None = None
    """world-map image (default: data/world_map.png)"""
    task: Literal["near", "far"] = "near"
    """near (WorldMap-v0: goal 3-7 moves, 32-step episodes) | far (WorldMapFar-v0: goal 8-12 moves, 64 steps)"""
    seed: int = 0
    """seeds every episode's start and goal, and the random policy: the same seed, the same dataset"""
    jpeg: bool = False
    """store the views JPEG-encoded (Minari's option: about 10x smaller, lossy); off: exact pixels"""
    author: str | None = None
    """the dataset's author (Minari's metadata)"""

    def check(self) -> None:
        """Every value, before any work (a ``ValueError``: one ``error:`` line from the command line)."""
        at_least("--episodes", self.episodes, 1)
        at_least("--seed", self.seed, 0)
        if self.map is not None:
            input_file("--map", self.map, "world-map image")
        new_dataset_id(self.out)


def run(a: CliArgs) -> dict:
    """What the command does: checks every value, loads the policy, records, prints what was written."""
    a.check()
    policy, about = load_policy(a.policy, a.seed)
    meta = record(policy, a.out, a.episodes, a.map, a.task, a.seed, about, a.jpeg, a.author)
    print(
        f"{a.episodes} episodes ({meta['steps']} steps) of {meta['policy']} in {meta['env_id']} on "
        f"{meta['map_path']} (fingerprint {meta['map_fingerprint']}), seed {a.seed}: {a.out} "
        f"({meta['size_mb']:.1f} MB)"
    )
    return meta


def main(argv=None) -> dict:
    return run_cli(CliArgs, run, argv, CliArgs.__doc__.split("\n\n")[0])


def cli() -> None:
    """The console script (setup.cfg): ``main`` without its return value, which would become the exit status."""
    main()


if __name__ == "__main__":
    main()

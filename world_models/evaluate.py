"""Evaluate a world model against ground truth: ``python -m world_models.evaluate CHECKPOINT``.

Prints and writes (``--out``: ``report.json``, ``report.md`` and PNG figures):

* one-step fidelity on transitions drawn with a fixed seed: PSNR and SSIM over the frame, PSNR over
  the region visible in both frames ("known") and over the newly revealed strip ("new");
* KID of generated next views against the true ones, mean +- std over subsets (torchmetrics):
  ``KID-rand`` with a fixed-seed random CNN (always available; *not* comparable with Inception
  KID) and ``KID-inception`` when Inception weights are available (``--inception-weights``);
  ``KID-rand new`` on the 16-px band at the newly revealed edge (the part a model must invent,
  which whole-frame features, 7/8 copied context, barely see);
* sharpness of the new strips (``metrics.gradient_energy`` over the truth's: 1 = as sharp, below
  blurred, above noisier), which KID-rand cannot see;
* open-loop rollouts, stepped as DreamWorldMap-v0 steps (a move the map's edge blocks keeps the
  view): PSNR against the true views after 1, 4, 16 (and 64) model steps, KID-rand of the second
  half's frames, and contrast (``metrics.contrast``) and sharpness of the last frames over the
  truth's (fading, speckle);
* generation speed (frames/s at the evaluated sampler settings, batch 64 and batch 1);
* the same numbers for the ``shift`` and ``copy`` baselines, through the same code.

``--calibrate`` prints what KID-rand sees: real views against blurred, noised, contrast-reduced
and edge-repeated versions of an independent sample (random-network features see blur and
contrast, not low-amplitude noise or streaks; read its KID with that in mind).

Only moves that stay on the map are drawn, so every transition has a known region and a new strip.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import tyro
from torch import nn

from world_models.baselines import copy_baseline, shift_baseline
from world_models.data import to_tensor, to_uint8
from world_models.inference import SHIPPED_MODEL, load_world_model
from world_models.metrics import contrast, gradient_energy, psnr, ratio
from world_models.training.adversarial import revealed_band
from worldgen_core import dynamics as dyn
from worldgen_core.cli import check, run_cli
from worldgen_core.simulator import dream_views
from worldgen_core.world import WorldCore
from worldgen_core.world_map import load_map

__all__ = ["Predictor", "shift_baseline", "copy_baseline", "model_predictor", "RandomFeatures", "load_inception",
           "sample_transitions", "evaluate", "calibrate", "corruptions", "Args", "run", "main"]

#: (views uint8 (B, H, W, 3), actions (B,)) -> next views uint8 (B, H, W, 3)
Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]


def new_strip_masks(view_size: int = 64, stride: int = 8) -> np.ndarray:
    """(4, H, W) bool: the strip each action reveals (``dynamics.revealed_masks``)."""
    return dyn.revealed_masks(view_size, stride)


def new_bands(images: np.ndarray, actions: np.ndarray, width: int = 16) -> np.ndarray:
    """The ``width``-px band at the edge each action reveals, turned so that edge is on top:
    (B, H, W, 3) -> (B, width, W, 3). The band holds the new strip and the context it must match
    (``adversarial.revealed_band`` on uint8 arrays)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    return revealed_band(x, torch.as_tensor(np.asarray(actions), dtype=torch.long), width).permute(0, 2, 3, 1).numpy()


def model_predictor(wm, sampler=None, steps=None, cfg_scale=None, seed: int = 0, batch: int = 64,
                    generator: torch.Generator | None = None) -> Predictor:
    """A WorldModel as a Predictor (batches of ``batch``; the next views' cells as an optional third
    argument). Noise from ``generator``, or from a CPU generator seeded with ``seed``."""
    g = generator if generator is not None else torch.Generator().manual_seed(seed)

    def predict(views, actions, cells=None):
        outs = [wm.predict(views[i : i + batch], actions[i : i + batch], g, sampler=sampler, steps=steps, cfg_scale=cfg_scale,
                           cells=None if cells is None else cells[i : i + batch])
                for i in range(0, len(views), batch)]
        return np.concatenate(outs)

    return predict


class RandomFeatures(nn.Module):
    """A fixed-seed randomly initialised CNN as a feature extractor (random-network embeddings for
    evaluation, Naeem et al. 2020). uint8 (B, 3, H, W) -> (B, 2048): the last 512-channel map
    average-pooled to 2x2, so that where an artefact sits (e.g. a smeared strip at one edge) stays
    visible in the features. Label results ``KID-rand``."""

    def __init__(self, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        chans = [3, 64, 128, 256, 512]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, stride=2, padding=1) for a, b in zip(chans, chans[1:]))
        for c in self.convs:
            nn.init.kaiming_normal_(c.weight, generator=g)
            nn.init.zeros_(c.bias)
        self.requires_grad_(False).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.float() / 127.5 - 1
        for c in self.convs:
            h = torch.relu(c(h))
        return torch.nn.functional.adaptive_avg_pool2d(h, 2).flatten(1)


def load_inception(path: str | Path | None) -> nn.Module | None:
    """An Inception-v3 feature extractor as a TorchScript file (uint8 (B, 3, H, W) -> (B, 2048)), e.g.
    ``inception-2015-12-05.pt`` used by clean-fid / StyleGAN. Looks in ``path``, then the cache
    ``~/.cache/worldgen/inception-2015-12-05.pt``; returns None when none is found."""
    cands = [Path(path)] if path else [Path.home() / ".cache" / "worldgen" / "inception-2015-12-05.pt"]
    for p in cands:
        if p.is_file():
            return torch.jit.load(str(p), map_location="cpu").eval()
        if path:
            raise FileNotFoundError(f"--inception-weights {str(p)!r} does not exist")
    return None


def kid(features: nn.Module, real: np.ndarray, fake: np.ndarray, subsets: int = 20, subset_size: int = 100, seed: int = 0) -> tuple[float, float]:
    """KID mean and std over subsets (torchmetrics) of uint8 (B, H, W, 3) image sets.

    torchmetrics draws the subsets from torch's global generator: they are drawn here under
    ``seed`` (the global state is restored afterwards), so the same sets give the same numbers.
    """
    import warnings

    from torchmetrics.image.kid import KernelInceptionDistance

    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        warnings.simplefilter("ignore")
        m = KernelInceptionDistance(feature=features, subsets=subsets, subset_size=min(subset_size, len(real)))
        to_t = lambda x: torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2)
        m.update(to_t(real), real=True)
        m.update(to_t(fake), real=False)
        mean, std = m.compute()
    return float(mean), float(std)


def sample_transitions(core: WorldCore, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` transitions whose move stays on the map, from a fixed seed."""
    rng = np.random.default_rng(seed)
    pos = np.stack([rng.integers(0, core.grid[0], 4 * n), rng.integers(0, core.grid[1], 4 * n)], 1)
    act = rng.integers(0, 4, 4 * n)
    nxt = dyn.move(pos, act, core.grid)
    ok = np.flatnonzero((nxt != pos).any(1))[:n]
    return {"view": core.views(pos[ok]), "action": act[ok], "next": core.views(nxt[ok]), "pos": pos[ok], "next_pos": nxt[ok]}


def one_step(pred: Predictor, data: dict, stride: int, place: bool = False) -> tuple[dict, np.ndarray]:
    """``place``: ``pred`` also takes the next views' cells (a model with a place field on its map)."""
    from torchmetrics.functional.image import structural_similarity_index_measure as ssim

    gen = pred(data["view"], data["action"], *((data["next_pos"],) if place else ()))
    true = data["next"]
    masks = new_strip_masks(true.shape[1], stride)
    known, new, sharp_gen, sharp_true = [], [], [], []
    for a in range(4):
        idx = data["action"] == a
        if idx.any():
            new.append((idx.sum(), psnr(gen[idx], true[idx], masks[a])))
            known.append((idx.sum(), psnr(gen[idx], true[idx], ~masks[a])))
            sharp_gen.append((idx.sum(), gradient_energy(gen[idx], masks[a])))
            sharp_true.append((idx.sum(), gradient_energy(true[idx], masks[a])))
    wavg = lambda pairs: float(sum(n * v for n, v in pairs) / sum(n for n, _ in pairs))
    to_t = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255
    # sharpness_new: gradient energy of the generated new strips over the true ones (1 = as sharp;
    # < 1 blurred, > 1 noisier than the map), which KID-rand cannot see (see ``calibrate``).
    return {"psnr": psnr(gen, true), "ssim": float(ssim(to_t(gen), to_t(true), data_range=1.0)),
            "psnr_known": wavg(known), "psnr_new": wavg(new), "sharpness_new": ratio(wavg(sharp_gen), wavg(sharp_true))}, gen


def rollouts(pred: Predictor, core: WorldCore, n: int, horizon: int, seed: int, report_at=(1, 4, 16, 64),
             place: bool = False) -> tuple[dict, np.ndarray, np.ndarray]:
    """Open-loop: start from real views, feed predictions back, as DreamWorldMap-v0 does (a move the
    map's edge blocks keeps the view). Returns (PSNR at steps, true, fake) (n, T+1, ...)."""
    rng = np.random.default_rng(seed)
    pos = np.stack([rng.integers(0, core.grid[0], n), rng.integers(0, core.grid[1], n)], 1)
    view = core.views(pos)
    true, fake = [view], [view]
    for _ in range(horizon):
        a = rng.integers(0, 4, n)
        pos, prev = dyn.move(pos, a, core.grid), pos
        view = dream_views(pred, prev, pos, view, a, place)
        true.append(core.views(pos))
        fake.append(view)
    true, fake = np.stack(true, 1), np.stack(fake, 1)
    out = {f"rollout_psnr@{k}": psnr(fake[:, k], true[:, k]) for k in report_at if k <= horizon}
    # Drift that PSNR does not name: contrast (fading) and sharpness (blur, speckle) of the last
    # dreamed frames, as ratios to the true frames' (1 = no drift).
    out[f"contrast_roll@{horizon}"] = ratio(contrast(fake[:, horizon]), contrast(true[:, horizon]))
    out[f"sharpness_roll@{horizon}"] = ratio(gradient_energy(fake[:, horizon]), gradient_energy(true[:, horizon]))
    return out, true, fake


@dataclass
class EvalConfig:
    n_transitions: int = 500
    n_rollouts: int = 32
    horizon: int = 16
    seed: int = 0
    kid_subsets: int = 20
    kid_subset_size: int = 100
    inception: nn.Module | None = field(default=None, repr=False)


def corruptions(views: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Known defects applied to real next views (uint8 (B, H, W, 3)), to calibrate a metric."""
    x = torch.from_numpy(views).permute(0, 3, 1, 2).float()  # (B, 3, H, W)
    k = torch.exp(-torch.arange(-3.0, 4.0) ** 2 / 2)  # Gaussian, sigma 1 px
    k = (k / k.sum()).repeat(3, 1)[:, None]  # (3, 1, 7)
    blur = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (3, 3, 0, 0), mode="replicate"), k[..., None, :], groups=3)
    blur = torch.nn.functional.conv2d(torch.nn.functional.pad(blur, (0, 0, 3, 3), mode="replicate"), k[..., :, None], groups=3)
    mean = x.mean((1, 2, 3), keepdim=True)
    to_u8 = lambda t: t.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    noise = np.random.default_rng(seed).normal(0, 8, views.shape)
    return {"blur (Gaussian, sigma 1 px)": to_u8(blur), "noise (Gaussian, sigma 8 / 255)": np.clip(views + noise, 0, 255).astype(np.uint8),
            "contrast x 0.85": to_u8(mean + 0.85 * (x - mean))}


def calibrate(core: WorldCore, cfg: EvalConfig) -> dict[str, dict]:
    """KID-rand (whole frame and revealed band) of real next views against known defects of an
    independent sample of real next views: what the random-feature KID can and cannot see."""
    real = sample_transitions(core, cfg.n_transitions, cfg.seed)
    other = sample_transitions(core, cfg.n_transitions, cfg.seed + 1)
    sets = {"real (independent sample)": other["next"], **corruptions(other["next"], cfg.seed),
            "revealed strip edge-repeated (shift)": shift_baseline(other["view"], other["action"])}
    real_bands = new_bands(real["next"], real["action"])
    out = {}
    for name, fake in sets.items():
        r = {}
        r["kid_rand"], r["kid_rand_std"] = kid(RandomFeatures(), real["next"], fake, cfg.kid_subsets, cfg.kid_subset_size)
        r["kid_rand_new"], r["kid_rand_new_std"] = kid(RandomFeatures(), real_bands, new_bands(fake, other["action"]),
                                                       cfg.kid_subsets, cfg.kid_subset_size)
        out[name] = r
    return out


def evaluate(pred: Predictor, core: WorldCore, cfg: EvalConfig, speed_fn: Callable[[], dict] | None = None,
             place: bool = False) -> tuple[dict, dict]:
    """All metrics for one predictor (``place``: it also takes the next views' cells). Returns
    (scalars, artefacts for figures)."""
    data = sample_transitions(core, cfg.n_transitions, cfg.seed)
    res, gen = one_step(pred, data, core.task.stride, place)
    res["kid_rand"], res["kid_rand_std"] = kid(RandomFeatures(), data["next"], gen, cfg.kid_subsets, cfg.kid_subset_size)
    # The whole frame is 7/8 copied context, which hides the invented strip: KID on the new band too.
    real_b, gen_b = new_bands(data["next"], data["action"]), new_bands(gen, data["action"])
    res["kid_rand_new"], res["kid_rand_new_std"] = kid(RandomFeatures(), real_b, gen_b, cfg.kid_subsets, cfg.kid_subset_size)
    if cfg.inception is not None:
        res["kid_inception"], res["kid_inception_std"] = kid(cfg.inception, data["next"], gen, cfg.kid_subsets, cfg.kid_subset_size)
    r, true, fake = rollouts(pred, core, cfg.n_rollouts, cfg.horizon, cfg.seed + 1, place=place)
    res.update(r)
    # Open-loop drift (a smeared or blurred view) shows after several steps: KID on the second half
    # of the rollouts, (n_rollouts * horizon / 2) frames against the true views at the same steps.
    late = slice(cfg.horizon // 2 + 1, cfg.horizon + 1)
    flat = lambda x: x[:, late].reshape(-1, *x.shape[2:])  # (n, T+1, H, W, 3) -> (n * T / 2, H, W, 3)
    res["kid_rand_roll"], res["kid_rand_roll_std"] = kid(RandomFeatures(), flat(true), flat(fake), cfg.kid_subsets, cfg.kid_subset_size)
    if speed_fn is not None:
        res.update(speed_fn())
    return res, {"data": data, "gen": gen, "roll_true": true, "roll_fake": fake}


def generation_speed(wm, sampler=None, steps=None, cfg_scale=None, repeats: int = 3) -> dict:
    """Frames/s at batch 64 and batch 1 (median of ``repeats``)."""
    out = {}
    for b in (64, 1):
        v = np.zeros((b, 64, 64, 3), np.uint8)
        a = np.zeros(b, np.int64)
        wm.predict(v, a, sampler=sampler, steps=steps, cfg_scale=cfg_scale)
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            wm.predict(v, a, sampler=sampler, steps=steps, cfg_scale=cfg_scale)
            ts.append(time.perf_counter() - t0)
        out[f"frames_per_s_b{b}"] = b / float(np.median(ts))
    return out


# ------------------------------------------------------------------------------------------ figures
def image_grid(rows: list[np.ndarray], pad: int = 2) -> np.ndarray:
    """Rows of uint8 images, each (B, H, W, 3), as one (H', W', 3) uint8 grid with white gutters."""
    rows = [np.concatenate([np.pad(im, ((pad, pad), (pad, pad), (0, 0)), constant_values=255) for im in r], 1) for r in rows]
    return np.concatenate(rows, 0)


def save_figures(out: Path, name: str, art: dict, trajectories: dict[str, list[np.ndarray]] | None = None) -> list[Path]:
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    d = art["data"]
    cols = []
    for a in range(4):
        idx = np.flatnonzero(d["action"] == a)[:2]
        for i in idx:
            cols.append(np.stack([d["view"][i], d["next"][i], art["gen"][i]]))
    grid = image_grid([np.stack([c[r] for c in cols]) for r in range(3)])
    p = out / f"{name}_one_step.png"
    Image.fromarray(np.kron(grid, np.ones((2, 2, 1), np.uint8))).save(p)
    paths.append(p)
    T = min(art["roll_true"].shape[1], 17)
    strip = image_grid([art["roll_true"][0, :T], art["roll_fake"][0, :T], art["roll_true"][1, :T], art["roll_fake"][1, :T]])
    p = out / f"{name}_rollout.png"
    Image.fromarray(np.kron(strip, np.ones((2, 2, 1), np.uint8))).save(p)
    paths.append(p)
    for proc, traj in (trajectories or {}).items():
        p = out / f"{name}_sampling_{proc}.png"
        Image.fromarray(np.kron(image_grid([np.stack(traj)]), np.ones((2, 2, 1), np.uint8))).save(p)
        paths.append(p)
    return paths


def sampling_trajectory(wm, data: dict, sampler=None, steps=None, cfg_scale=None, i: int = 0) -> list[np.ndarray]:
    """Current view, the predicted clean view after each sampler step, and the truth, for one transition."""

    traj: list = []
    cond = {"view": to_tensor(data["view"][i : i + 1], wm.device), "action": torch.as_tensor(data["action"][i : i + 1], device=wm.device)}
    with torch.inference_mode(), wm.autocast():
        s = wm.resolve(sampler=sampler, steps=steps, cfg_scale=cfg_scale)
        wm.process.sample(wm.model, cond, sampler=s.sampler, steps=s.steps, cfg_scale=s.cfg_scale, generator=torch.Generator().manual_seed(0),
                          trajectory=traj)
    return [data["view"][i]] + [to_uint8(x)[0] for x in traj] + [data["next"][i]]


def plot_kid_vs_steps(curves: dict[str, list[tuple[int, float, float]]], path: Path) -> Path:
    """KID-rand (mean +- std over subsets) against sampler steps, one line per model/process."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, pts in curves.items():
        pts = sorted(pts)
        x, y, e = zip(*pts)
        ax.errorbar(x, y, yerr=e, marker="o", capsize=3, label=name)
    ax.set(xscale="log", xlabel="sampler steps (model forwards per frame, before CFG)", ylabel="KID-rand (lower is better)")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


_COLS = [("psnr", "PSNR", "{:.2f}"), ("ssim", "SSIM", "{:.3f}"), ("psnr_known", "PSNR known", "{:.2f}"), ("psnr_new", "PSNR new", "{:.2f}"),
         ("kid_rand", "KID-rand", "{:.4f}"), ("kid_rand_new", "KID-rand new", "{:.4f}"), ("kid_rand_roll", "KID-rand roll", "{:.4f}"),
         ("rollout_psnr@1", "roll@1", "{:.2f}"), ("rollout_psnr@4", "roll@4", "{:.2f}"),
         ("rollout_psnr@16", "roll@16", "{:.2f}"), ("sharpness_new", "sharpness new", "{:.2f}"), ("contrast_roll@16", "contrast roll@16", "{:.2f}"),
         ("sharpness_roll@16", "sharpness roll@16", "{:.2f}"), ("frames_per_s_b64", "frames/s (B=64)", "{:.1f}"), ("frames_per_s_b1", "frames/s (B=1)", "{:.1f}")]


def markdown_table(results: dict[str, dict]) -> str:
    cols = [c for c in _COLS if any(c[0] in r for r in results.values())]
    lines = ["| | " + " | ".join(c[1] for c in cols) + " |", "|---|" + "---|" * len(cols)]
    for name, r in results.items():
        cells = []
        for k, _, fmt in cols:
            v = r.get(k)
            cell = "" if v is None else fmt.format(v)
            if k.startswith("kid_rand") and v is not None:
                cell += f" ± {r[k + '_std']:.4f}"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass
class Args:
    """Evaluate a world model against ground truth (one-step fidelity, KID, rollouts, speed, baselines)."""

    checkpoint: tyro.conf.Positional[str | None] = None
    """world-model checkpoint (not needed with --calibrate)"""
    calibrate: bool = False
    """instead: KID-rand of real views against known defects (blur, noise, contrast, edge-repeat): what the metric sees"""
    out: Path | None = None
    """report folder (default: <checkpoint folder>/eval; for a model in the package's data/: eval_<name> here)"""
    sampler: str | None = None
    steps: tuple[int, ...] = ()
    """sampler steps to evaluate (several: one row each; default: the checkpoint's)"""
    cfg_scale: float | None = None
    n: int = 500
    """transitions for one-step metrics and KID"""
    rollouts: int = 32
    horizon: int = 16
    seed: int = 0
    """draws the transitions and rollouts (another seed: an independent sample)"""
    kid_subsets: int = 20
    """KID: number of random subsets (mean +- std over them)"""
    kid_subset_size: int = 100
    """KID: images per subset, at most the set's size (torchmetrics' default is 1000: with --n 2000 --rollouts 128 it
    resolves differences that subsets of 100 cannot)"""
    map: str | None = None
    """world-map image (default: data/world_map.png)"""
    inception_weights: str | None = None
    """TorchScript Inception-v3 (inception-2015-12-05.pt) for Inception KID"""
    baselines: bool = True
    """also evaluate the shift and copy baselines (--no-baselines: not)"""
    compare: str | None = None
    """a second checkpoint (e.g. DDPM vs flow) evaluated at --compare-steps, for the KID-vs-steps plot"""
    compare_steps: tuple[int, ...] = (10, 25, 50, 100)
    device: str = "cpu"
    bf16: bool = False
    """sample under bfloat16 autocast"""


def _check(a: Args) -> None:
    check(a.n >= 2 and a.rollouts >= 2 and a.horizon >= 2, f"--n, --rollouts and --horizon must be >= 2, got {a.n}, {a.rollouts} and {a.horizon}")
    check(a.kid_subsets >= 2 and a.kid_subset_size >= 2,
          f"--kid-subsets and --kid-subset-size must be >= 2, got {a.kid_subsets} and {a.kid_subset_size}")
    check(a.seed >= 0, f"--seed must be >= 0, got {a.seed}")
    check(all(s >= 1 for s in (*a.steps, *a.compare_steps)), f"--steps and --compare-steps must be >= 1, got {list(a.steps)} and {list(a.compare_steps)}")
    check(a.calibrate or a.checkpoint is not None, "give a CHECKPOINT to evaluate (or --calibrate)")
    if a.map is not None:
        load_map(a.map, min_size=dyn.TaskConfig().view_size)  # a missing or unreadable map: its own message
    for what, path in (("CHECKPOINT", a.checkpoint), ("--compare", a.compare)):
        check(path is None or a.calibrate or Path(path).is_file(), f"{what} {path!r} is not a file; pass a world-model checkpoint (.pt)")


def default_report_folder(checkpoint: str | Path) -> Path:
    """``<checkpoint folder>/eval``; for a model shipped in the package's ``data/``, ``eval_<name>`` in the current
    folder (the package's data is never written by default)."""
    ckpt = Path(checkpoint)
    return Path(f"eval_{ckpt.stem}") if ckpt.resolve().parent == SHIPPED_MODEL.parent else ckpt.parent / "eval"


def main(argv: list[str] | None = None) -> dict:
    return run_cli(Args, run, argv, __doc__.split("\n\n")[0])


def run(a: Args) -> dict:
    """Evaluate as ``a`` says (:class:`Args`); returns the results by row."""
    _check(a)
    if a.calibrate:
        cal = calibrate(WorldCore(a.map), EvalConfig(n_transitions=a.n, seed=a.seed, kid_subsets=a.kid_subsets, kid_subset_size=a.kid_subset_size))
        print(markdown_table(cal))
        return cal
    out = a.out or default_report_folder(a.checkpoint)
    check(not out.exists() or out.is_dir(), f"--out {str(out)!r} is a file; pass a folder for the report")
    out.mkdir(parents=True, exist_ok=True)  # before the work: an unwritable --out is an error now, not after it
    check(os.access(out, os.W_OK), f"--out {str(out)!r} is not writable; pass a folder you can write to")
    wm = load_world_model(a.checkpoint, device=a.device, dtype=torch.bfloat16 if a.bf16 else torch.float32)
    inception = load_inception(a.inception_weights)
    if inception is None:
        print("Inception-v3 weights not found (~/.cache/worldgen/inception-2015-12-05.pt or --inception-weights): reporting KID-rand only")
    core = WorldCore(a.map)
    cfg = EvalConfig(n_transitions=a.n, n_rollouts=a.rollouts, horizon=a.horizon, seed=a.seed, kid_subsets=a.kid_subsets,
                     kid_subset_size=a.kid_subset_size, inception=inception)
    results, figures, kid_curves = {}, [], {}
    runs = [(wm, a.checkpoint, list(a.steps) or [None])]
    if a.compare:
        runs.append((load_world_model(a.compare, device=a.device, dtype=wm.dtype), a.compare, a.compare_steps))
    for model, ckpt, steps_list in runs:
        for steps in steps_list:
            sampler = a.sampler if model is wm else None
            s = model.resolve(sampler=sampler, steps=steps, cfg_scale=a.cfg_scale)
            name = f"{model.process.name} ({s.sampler} x{s.steps}, cfg {s.cfg_scale})"
            pred = model_predictor(model, sampler, steps, a.cfg_scale)
            res, art = evaluate(pred, core, cfg, lambda: generation_speed(model, sampler, steps, a.cfg_scale), place=model.knows(core))
            results[name] = res
            kid_curves.setdefault(f"{model.process.name} ({Path(ckpt).parent.name})", []).append((s.steps, res["kid_rand"], res["kid_rand_std"]))
            traj = {model.process.name: sampling_trajectory(model, art["data"], sampler, steps, a.cfg_scale)}
            figures += save_figures(out, f"{model.process.name}_steps{s.steps}", art, traj)
            print(name, json.dumps({k: round(v, 4) for k, v in res.items()}), flush=True)
    if sum(len(v) for v in kid_curves.values()) > 1:
        figures.append(plot_kid_vs_steps(kid_curves, out / "kid_vs_steps.png"))
    if a.baselines:
        for name, fn in (("shift", shift_baseline), ("copy", copy_baseline)):
            res, art = evaluate(fn, core, cfg)
            results[name] = res
            figures += save_figures(out, name, art)
    table = markdown_table(results)
    (out / "report.json").write_text(json.dumps({"checkpoint": str(a.checkpoint), "results": results}, indent=2))
    (out / "report.md").write_text(f"# Evaluation of `{a.checkpoint}`\n\n{table}\n\n" + "\n".join(f"![{f.stem}]({f.name})" for f in figures) + "\n")
    print(table)
    print(f"report: {out / 'report.md'}")
    return results


if __name__ == "__main__":
    main()

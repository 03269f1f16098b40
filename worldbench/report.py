"""The leaderboard: markdown and JSON tables, figures (PNG) and a GIF of a long dream with a loop."""

from __future__ import annotations

import json
import re
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageDraw

from worldgen_core.metrics import image_grid

__all__ = [
    "leaderboard_md",
    "loop_table_md",
    "transfer_md",
    "write_report",
    "plot_lines",
    "plot_c2st",
    "strips_png",
    "loop_gif",
]

_COLS = [
    ("psnr_known", "known dB"),
    ("psnr_new", "new strip dB"),
    ("psnr_new_seen", "new strip dB, seen"),
    ("psnr_new_unseen", "new strip dB, unseen"),
    ("rollout_psnr@1", "roll@1"),
    ("rollout_psnr@4", "roll@4"),
    ("rollout_psnr@16", "roll@16"),
    ("rollout_psnr@64", "roll@64"),
    ("loop_line_back_min", "loop back (line, worst k)"),
    ("loop_square_back_min", "loop back (square, worst k)"),
    ("c2st_new", "C2ST new strip"),
    ("c2st_new_seen", "C2ST new strip, seen"),
    ("c2st_new_unseen", "C2ST new strip, unseen"),
    ("c2st_roll16", "C2ST roll@16"),
    *(
        (f"c2st_{w}_{v}", f"C2ST {n}, {v}")
        for w, n in (("new", "new strip"), ("roll16", "roll@16"))
        for v in ("luma", "chroma", "layout")
    ),
    ("kid_rand_new", "KID-rand new x1e3"),
    ("sharpness_new", "sharpness new"),
    ("contrast_roll@16", "contrast roll@16"),
    ("streaks_chroma@16", "colour streaks, walk@16 (x real)"),
    ("streaks_luma@16", "luma streaks, walk@16 (x real)"),
    ("mflop_per_frame", "MFLOP/frame"),
    ("dream_steps_s", "dream env-steps/s"),
]


def _cell(r: dict, key: str) -> str:
    if key.startswith("c2st"):
        if f"{key}_accuracy" not in r:
            return ""
        if f"{key}_min" in r:  # the median of several critics, and their range
            return f"{100 * r[f'{key}_accuracy']:.1f}% ({100 * r[f'{key}_min']:.0f}-{100 * r[f'{key}_max']:.0f})"
        return f"{100 * r[f'{key}_accuracy']:.1f}% [{100 * r[f'{key}_ci_low']:.0f}-{100 * r[f'{key}_ci_high']:.0f}]"
    if key == "dream_steps_s":
        k = next((k for k in r if k.startswith("dream_steps_s_n")), None)
        return "" if k is None else f"{r[k]:,.0f}"
    if key not in r:
        return ""
    v = r[key]
    if key == "kid_rand_new":
        return f"{1e3 * v:.2f} ± {1e3 * r['kid_rand_new_std']:.2f}"
    if key == "mflop_per_frame":
        return f"{v:.0f}"
    return f"{v:.2f}"


def leaderboard_md(results: dict[str, dict]) -> str:
    cols = [c for c in _COLS if any(_cell(r, c[0]) for r in results.values())]
    lines = ["| model | " + " | ".join(c[1] for c in cols) + " |", "|---|" + "---|" * len(cols)]
    lines += [f"| {name} | " + " | ".join(_cell(r, k) for k, _ in cols) + " |" for name, r in results.items()]
    return "\n".join(lines)


def models_md(meta: dict) -> str:
    """Which model each row is (its spec; a checkpoint's model name from its card and its sha256) and
    which map: no number is attributed to the wrong model or map."""
    sha, names = meta.get("sha256", {}), meta.get("model_names", {})
    lines = [
        f"Map `{meta['map']}` (fingerprint `{meta['map_fingerprint']}`).",
        "",
        "| row | spec | model | sha256 |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | `{spec}` | {names.get(name, '-')} | {('`' + sha[name][:16] + '`') if name in sha else '-'} |"
        for name, spec in meta["models"].items()
    ]
    return "\n".join(lines)


def transfer_md(transfer: dict[str, dict]) -> str:
    """Agent transfer: real-env success of PPO trained in each simulator (per task), and its ratio to
    PPO trained in the real env."""
    tasks = [k.split("_")[1] for k in next(iter(transfer.values())) if re.fullmatch(r"transfer_[a-z]+_success", k)]
    lines = [
        "| trained in | " + " | ".join(f"{t} task: real-env success (seeds) | {t}: x real" for t in tasks) + " |",
        "|---|" + "---|---|" * len(tasks),
    ]
    for name, r in transfer.items():
        cells = []
        for t in tasks:
            seeds = "/".join(f"{v:.3f}" for v in r.get(f"transfer_{t}_seeds", []))
            cells += [f"{r[f'transfer_{t}_success']:.3f} ({seeds})", f"{r[f'transfer_{t}']:.2f}x"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    rand = transfer.get("real env", {})
    lines.append(
        "\nRandom policy in the real env: "
        + ", ".join(f"{t} {rand[f'transfer_{t}_random']:.3f}" for t in tasks if f"transfer_{t}_random" in rand)
        + "."
    )
    return "\n".join(lines)


def loop_table_md(curves: dict[str, dict]) -> str:
    """PSNR back at the start of line and square loops, per k (and at the turning point)."""
    ks = next(iter(curves.values()))["loop_ks"]
    head = " | ".join(f"k={k}" for k in ks)
    lines = [f"| model | loop | {head} |", "|---|---|" + "---|" * len(ks)]
    for name, c in curves.items():
        for kind in ("line", "square"):
            lines.append(
                f"| {name} | {kind}, back at start | " + " | ".join(f"{v:.1f}" for v in c[f"loop_{kind}_back"]) + " |"
            )
            lines.append(
                f"| {name} | {kind}, turning point | " + " | ".join(f"{v:.1f}" for v in c[f"loop_{kind}_turn"]) + " |"
            )
    return "\n".join(lines)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_lines(curves: dict[str, dict], path: Path) -> Path:
    """Left: rollout PSNR against steps; middle: PSNR back at the start of a loop against k; right:
    colour streaks on straight walks against steps (x the true frames')."""
    plt = _plt()
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 4))
    for i, (name, c) in enumerate(curves.items()):
        col = f"C{i}"
        y = c["rollout_psnr"]
        ax1.plot(range(1, len(y) + 1), y, color=col, label=name)
        ax2.plot(c["loop_ks"], c["loop_line_back"], color=col, marker="o", label=f"{name}, line")
        ax2.plot(c["loop_ks"], c["loop_square_back"], color=col, marker="s", ls="--", label=f"{name}, square")
        if "streaks_chroma" in c:
            ax3.plot(range(1, len(c["streaks_chroma"]) + 1), c["streaks_chroma"], color=col, label=f"{name}, colour")
            ax3.plot(range(1, len(c["streaks_luma"]) + 1), c["streaks_luma"], color=col, ls="--", label=f"{name}, luma")
    ax1.set(
        xlabel="open-loop steps (random moves)",
        ylabel="PSNR vs the true view (dB)",
        xscale="log",
        title="open-loop rollouts",
    )
    ax2.set(
        xlabel="k (moves out before coming back)",
        ylabel="PSNR back at the start (dB)",
        xscale="log",
        title="loop closure (memory)",
    )
    ax2.set_xticks(c["loop_ks"], [str(k) for k in c["loop_ks"]])
    ax2.minorticks_off()
    ax3.axhline(1.0, color="k", lw=0.8)
    ax3.set(
        xlabel="moves in one direction",
        ylabel="stripes along the motion (x the true frames')",
        yscale="log",
        title="streaks (straight walks)",
    )
    ax3.grid(alpha=0.3)
    ax3.legend(fontsize=6, ncol=2)
    for ax in (ax1, ax2):
        ax.set_ylim(0, 102)
        ax.grid(alpha=0.3)
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_c2st(results: dict[str, dict], path: Path) -> Path:
    """C2ST held-out accuracy (the median critic) with the range over critics (else the 95% interval):
    50% = indistinguishable from the real views."""
    plt = _plt()
    names = list(results)
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(names)), 3.6))
    x = np.arange(len(names))
    for j, (key, label) in enumerate((("c2st_new", "revealed band"), ("c2st_roll16", "frame at rollout step 16"))):
        acc = np.array([results[n][f"{key}_accuracy"] for n in names])
        lo = acc - np.array([results[n].get(f"{key}_min", results[n][f"{key}_ci_low"]) for n in names])
        hi = np.array([results[n].get(f"{key}_max", results[n][f"{key}_ci_high"]) for n in names]) - acc
        ax.bar(x + (j - 0.5) * 0.38, 100 * acc, 0.36, yerr=[100 * lo, 100 * hi], capsize=3, label=label)
    ax.axhline(50, color="gray", ls="--", lw=1)
    ax.set_xticks(x, names, rotation=15, fontsize=8)
    ax.set(ylim=(0, 100), ylabel="C2ST accuracy (%)", title="realism: can a CNN tell generated from real? (50% = no)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def strips_png(arts: dict[str, dict], path: Path, zoom: int = 3) -> Path:
    """Per model: real revealed bands over generated ones, and real frames at rollout step 16 over
    dreamed ones, zoomed ``zoom`` x (nearest neighbour, so speckle stays visible)."""
    blocks, labels = [], []
    for name, art in arts.items():
        rb, fb = art["bands"]
        rl, fl = art["late"]
        blocks.append(image_grid([rb, fb]))
        labels.append(f"{name}: revealed bands (real above, generated below)")
        blocks.append(image_grid([rl, fl]))
        labels.append(f"{name}: frames at rollout step 16 (real above, dreamed below)")
    w = max(b.shape[1] for b in blocks) * zoom
    out = []
    for b, text in zip(blocks, labels):
        im = Image.fromarray(np.kron(b, np.ones((zoom, zoom, 1), np.uint8)))
        canvas = Image.new("RGB", (w, im.height + 16), (255, 255, 255))
        ImageDraw.Draw(canvas).text((4, 2), text, fill=(0, 0, 0))
        canvas.paste(im, (0, 16))
        out.append(np.asarray(canvas))
    Image.fromarray(np.concatenate(out, 0)).save(path)
    return path


def loop_gif(arts: dict[str, dict], path: Path, zoom: int = 3) -> Path:
    """A square loop, real | each model, frame by frame (the last frame should equal the first)."""
    true = next(iter(arts.values()))["loop"][0]
    cols = [("real", true)] + [(n, a["loop"][1]) for n, a in arts.items() if n != "real"]
    frames = []
    for t in range(len(true)):
        tiles = []
        for name, seq in cols:
            im = Image.fromarray(np.kron(seq[t], np.ones((zoom, zoom, 1), np.uint8)))
            tile = Image.new("RGB", (im.width + 8, im.height + 22), (24, 24, 28))
            tile.paste(im, (4, 18))
            label = f"real, step {t}/{len(true) - 1}" if name == "real" else name[:24]
            ImageDraw.Draw(tile).text((6, 3), label, fill=(255, 255, 255))
            tiles.append(np.asarray(tile))
        frames.append(np.concatenate(tiles, 1))
    frames += [frames[-1]] * 6
    iio.imwrite(path, np.stack(frames), duration=180, loop=0)
    return path


def write_report(out: Path, results: dict, curves: dict, arts: dict, meta: dict) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "lines": plot_lines(curves, out / "psnr_curves.png"),
        "c2st": plot_c2st(results, out / "c2st.png"),
        "strips": strips_png(arts, out / "strips.png"),
        "gif": loop_gif(arts, out / "loop.gif"),
    }
    (out / "leaderboard.json").write_text(json.dumps({"meta": meta, "results": results, "curves": curves}, indent=2))
    md = (
        f"# World-model benchmark\n\n{meta['description']}\n\n{leaderboard_md(results)}\n\n## "
        f"Models\n\n{models_md(meta)}\n\n"
        + (
            "## Agent transfer: PPO trained in the simulator, evaluated in the real "
            f"env\n\n{meta['transfer_description']}\n\n"
            f"{transfer_md(meta['transfer'])}\n\n"
            if meta.get("transfer")
            else ""
        )
        + f"## Loop closure: PSNR (dB) against the true view, per k\n\n{loop_table_md(curves)}\n\n"
        "![rollout and loop-closure PSNR](psnr_curves.png)\n\n![C2ST](c2st.png)\n\n"
        "A square loop of the largest k (real | each model; the last frame should equal the "
        "first):\n\n![loop](loop.gif)\n\n"
        "Real and generated, zoomed 3x:\n\n![strips](strips.png)\n"
    )
    (out / "leaderboard.md").write_text(md)
    files["md"] = out / "leaderboard.md"
    return files

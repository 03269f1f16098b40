"""Frames of a benchmark ``loop.gif`` at given steps, chosen panels side by side, zoomed 2x: one PNG (the results
pages' loop figures).

    python experiments/loop_frames/loop_steps.py runs/v5/bench_seed0/loop.gif loop_steps.png --panels 0 1 2 --steps 16
    32 48 64

Panel 0 is the real env; the others are the models in the benchmark's order. An existing OUT is replaced only with
``--force``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tyro
from PIL import Image

from worldgen_core.cli import check, input_file, output_file, refuse_overwrite, run_cli
from worldgen_core.files import atomic_write

PANEL_PX = 200  # a loop.gif panel: 64 px x 3 and a margin


@dataclass
class CliArgs:
    gif: tyro.conf.Positional[Path]
    """a worldbench loop.gif"""
    out: tyro.conf.Positional[Path]
    """the PNG to write"""
    panels: tuple[int, ...] = (0, 1)
    """panels to show, left to right (0: real)"""
    steps: tuple[int, ...] = (16, 32, 48, 64)
    """frames (loop steps) to show, top to bottom"""
    force: bool = False
    """overwrite OUT if it exists"""


def run(a: CliArgs) -> Path:
    input_file("GIF", a.gif)
    output_file("OUT", a.out)
    refuse_overwrite(a.out, a.force)
    im = Image.open(a.gif)
    n = round(im.size[0] / PANEL_PX)
    w, h = im.size[0] // n, im.size[1]
    check(all(0 <= p < n for p in a.panels), f"--panels: {a.gif} has panels 0..{n - 1}, got {list(a.panels)}")
    check(
        all(0 <= s < im.n_frames for s in a.steps),
        f"--steps: {a.gif} has frames 0..{im.n_frames - 1}, got {list(a.steps)}",
    )
    sheet = Image.new("RGB", (w * len(a.panels), h * len(a.steps)), (20, 20, 24))
    for i, s in enumerate(a.steps):
        im.seek(s)
        frame = im.convert("RGB")
        for j, p in enumerate(a.panels):
            sheet.paste(frame.crop((p * w, 0, (p + 1) * w, h)), (j * w, i * h))
    sheet = sheet.resize((sheet.width * 2, sheet.height * 2), Image.NEAREST)
    atomic_write(a.out, lambda f: sheet.save(f, format="PNG"))
    print("wrote", a.out, sheet.size)
    return a.out


def main(argv: list[str] | None = None) -> Path:
    return run_cli(CliArgs, run, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()

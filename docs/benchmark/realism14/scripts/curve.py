"""Session 14: C2ST and strip PSNR of the mean-fill recipe against CPU minutes of fine-tuning
(seed 0 leaderboards; a later file's row replaces an earlier one of the same name), one PNG. Usage: python curve.py OUT.png LEADERBOARD.json ..."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# model name in the leaderboards -> (CPU minutes of mean-fill fine-tuning from session 10's model, run)
MINUTES = {"shipped": (0, "start"),  # session 13's leaderboard: "shipped" there is session 10's model
           "pad40": (40, "shipped (session 13)"), "more35": (75, "more"), "a64_35": (75, "a64"),
           "more70": (110, "more"), "a64_70": (110, "a64"), "soup3": (110, "soup3")}
rows = {}
for path in sys.argv[2:]:
    for name, r in json.load(open(path))["results"].items():
        if name in MINUTES:
            rows[name] = r
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
style = {"start": "ks", "shipped (session 13)": "ko", "more": "C0o-", "a64": "C1o-", "soup3": "C2*"}
for ax, (key, title) in zip(axes, [("c2st_new", "C2ST, revealed bands"), ("c2st_roll16", "C2ST, rollout step 16"), ("psnr_new", "revealed-strip PSNR (dB)")]):
    for run in style:
        pts = sorted((MINUTES[n][0], r) for n, r in rows.items() if MINUTES[n][1] == run or (run in ("more", "a64") and n == "pad40"))
        if not pts:
            continue
        xs = [m for m, _ in pts]
        if key == "psnr_new":
            ax.plot(xs, [r[key] for _, r in pts], style[run], label=run)
        else:
            ys = [100 * r[f"{key}_accuracy"] for _, r in pts]
            err = [[y - 100 * r[f"{key}_min"] for y, (_, r) in zip(ys, pts)], [100 * r[f"{key}_max"] - y for y, (_, r) in zip(ys, pts)]]
            ax.errorbar(xs, ys, yerr=err, fmt=style[run], capsize=3, label=run)
    if key != "psnr_new":
        ax.axhline(60, color="r", ls="--", lw=1, label="target 60%")
        ax.set_ylabel("critic accuracy (%), median of 5, range")
    ax.set_title(title)
    ax.set_xlabel("CPU minutes of mean-fill fine-tuning")
axes[0].legend(fontsize=8)
fig.tight_layout()
fig.savefig(sys.argv[1], dpi=110)
print("wrote", sys.argv[1])

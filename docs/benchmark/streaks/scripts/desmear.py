"""Diagnostic (not a fix): take the excess edge smear out of generated revealed strips and ask the
C2ST again. Per strip row i and cue (chroma, luma), the regression slope of row i on the known edge
row (row 8) is measured on the real and on the generated bands; the generated row i loses
(s_fake[i] - s_real[i]) * edge. If the critic's accuracy falls, the smear is what it sees."""
import sys, numpy as np, torch
from worldbench.c2st import c2st_median
torch.set_num_threads(2)
d = np.load(sys.argv[1])
r, f = d["real_b"].astype(float), d["fake_b"].astype(float)

def split(x):
    y = x.mean(-1, keepdims=True)
    return y, x - y

def slopes(v):  # (B, 16, W, ch) -> (8,) slope of each strip row on row 8
    v = v - v.mean((1, 2), keepdims=True)
    e = v[:, 8]
    return np.array([(v[:, i] * e).sum() / (e * e).sum() for i in range(8)]), v

def desmear(which):
    yr, cr = split(r); yf, cf = split(f)
    parts = {"luma": (yr, yf), "chroma": (cr, cf)}
    out = {"luma": yf.copy(), "chroma": cf.copy()}
    for k in which:
        sr, _ = slopes(parts[k][0]); sf, vf = slopes(parts[k][1])
        e = vf[:, 8]
        for i in range(8):
            out[k][:, i] -= (sf[i] - sr[i]) * e
        print(k, "slopes real", np.round(sr, 2), "fake", np.round(sf, 2))
    return np.clip(out["luma"] + out["chroma"], 0, 255).round().astype(np.uint8)

for which in ([], ["chroma"], ["luma"], ["chroma", "luma"]):
    g = desmear(which)
    c = c2st_median(d["real_b"], g, 0, 400, 5)
    print("desmear", which or "none", f"{c['accuracy']*100:.1f} ({c['min']*100:.0f}-{c['max']*100:.0f})", flush=True)

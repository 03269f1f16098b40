"""Edge smear of the revealed strip: how much of the known edge row's colour (chroma) and brightness
(luma) the strip's far half (rows 0-3) carries, as a regression slope (real map: the world's own).
Usage: python docs/findings/edge_smear.py SETS.npz ...  (sets from docs/findings/c2st_sets.py)"""
import sys, numpy as np
for path in sys.argv[1:]:
    d = np.load(path)
    out = {}
    for name in ("real", "fake"):
        x = d[name + "_b"].astype(float)
        c = x - x.mean(-1, keepdims=True); y = x.mean(-1)[..., None]
        for lab, v in (("chroma", c), ("luma", y)):
            v = v - v.mean((1, 2), keepdims=True)
            edge, far = v[:, 8], v[:, 0:4].mean(1)
            out[f"{name} {lab}"] = (far * edge).sum() / (edge * edge).sum()
        cm = (c - c.mean((1, 2), keepdims=True))[:, :8].mean(1)   # column means of chroma in the strip
        hc = cm - 0.5 * (np.roll(cm, 1, 1) + np.roll(cm, -1, 1))
        out[f"{name} colstripe"] = np.sqrt((hc[:, 1:-1] ** 2).mean())
    print(path, " ".join(f"{k}={v:.3f}" for k, v in out.items()))

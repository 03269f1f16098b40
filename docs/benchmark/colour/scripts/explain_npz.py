import sys, json, numpy as np, torch
from worldbench.c2st import explain, c2st_median
torch.set_num_threads(1)
out = {}
for n in sys.argv[1:]:
    d = np.load(f"runs/s12/{n}.npz")
    for which, (r, f) in {"bands": (d["real_b"], d["fake_b"]), "roll16": (d["real_f"], d["fake_f"])}.items():
        res = {"as is": c2st_median(r, f, 0, 400, 5), **explain(r, f, 0, 400, 5)}
        out[f"{n} {which}"] = {k: v["accuracy"] for k, v in res.items()}
        print(n, which, {k: f"{100*v['accuracy']:.1f} ({100*v['min']:.0f}-{100*v['max']:.0f})" for k, v in res.items()}, flush=True)
json.dump(out, open(f"runs/s12/explain_{'_'.join(sys.argv[1:])}.json", "w"), indent=1)

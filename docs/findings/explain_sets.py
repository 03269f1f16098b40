"""C2ST on the sets of docs/findings/c2st_sets.py, as they are and reduced to one cue at a time (brightness, colour
noise, layout; worldbench.c2st.explain), the median of 5 critics, one torch thread: python explain_sets.py A.npz ..."""
import sys

import numpy as np
import torch

from worldbench.c2st import c2st_median, explain

torch.set_num_threads(1)
for path in sys.argv[1:]:
    d = np.load(path)
    for which, (r, f) in {"bands": (d["real_b"], d["fake_b"]), "roll16": (d["real_f"], d["fake_f"])}.items():
        res = {"as is": c2st_median(r, f, 0, 400, 5), **explain(r, f, 0, 400, 5)}
        print(path, which, {k: f"{100 * v['accuracy']:.1f} ({100 * v['min']:.0f}-{100 * v['max']:.0f})" for k, v in res.items()}, flush=True)

import sys, numpy as np, torch, time
import torch.nn.functional as F
from worldbench.c2st import c2st_median
torch.set_num_threads(2)
d = np.load(sys.argv[1])
def tf(x, fn):
    t = torch.from_numpy(x).permute(0,3,1,2).float()
    return fn(t).clamp(0,255).round().byte().permute(0,2,3,1).numpy()
blur = lambda k: (lambda t: F.interpolate(F.avg_pool2d(t, k), scale_factor=k, mode='nearest'))
gray = lambda t: t.mean(1, keepdim=True).expand(-1,3,-1,-1)
def hp(t):
    return (t - F.avg_pool2d(F.pad(t,(1,1,1,1),mode='replicate'),3,1)) * 4 + 128
def meancol(t):  # only the image's mean colour
    return t.mean((2,3), keepdim=True).expand_as(t)
def chroma(t):
    l = t.mean(1, keepdim=True).clamp(min=1)
    return t / l * 128
def lumonly(t):
    return t.mean(1, keepdim=True).expand(-1,3,-1,-1)
def chromhp(t):  # the high-pass of the chromaticity
    c = t / t.mean(1, keepdim=True).clamp(min=1)
    return (c - F.avg_pool2d(F.pad(c,(1,1,1,1),mode='replicate'),3,1)) * 512 + 128
variants = {"chroma": chroma, "chroma hp": chromhp, "as is": lambda t: t, "blur4": blur(4), "blur8": blur(8), "gray": gray, "highpass": hp, "mean colour": meancol}
only = sys.argv[2].split(",") if len(sys.argv) > 2 else list(variants)
for which in (sys.argv[3] if len(sys.argv) > 3 else "bf"):
    r, f = d["real_" + which], d["fake_" + which]
    for name in only:
        t0 = time.time()
        c = c2st_median(tf(r, variants[name]), tf(f, variants[name]), 0, 400, 5)
        print(f"{'bands' if which=='b' else 'roll16'} {name:12s} {c['accuracy']*100:.1f}% ({c['min']*100:.0f}-{c['max']*100:.0f}) {time.time()-t0:.0f}s", flush=True)

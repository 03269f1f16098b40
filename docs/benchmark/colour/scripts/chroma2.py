import sys, numpy as np, torch, torch.nn.functional as F
d = np.load(sys.argv[1])
def box(t): return F.avg_pool2d(F.pad(t,(1,1,1,1),mode='replicate'),3,1)
for k in ("b","f"):
    for name in ("real","fake"):
        x = torch.from_numpy(d[name+"_"+k]).permute(0,3,1,2).double()
        if k=="b": x = x[:, :, :8]
        c = x / x.mean(1, keepdim=True).clamp(min=1)    # chromaticity (sum 3)
        ch = (c - box(c))
        lum = x.mean(1, keepdim=True); lh = (lum - box(lum)).abs()
        flat = (box(lh) < 4).expand_as(ch)
        print(k, name, "chroma-hp rms all %.4f flat %.4f  flat frac %.2f" % (ch.pow(2).mean().sqrt(), ch[flat].pow(2).mean().sqrt(), flat.double().mean()))

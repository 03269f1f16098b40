import sys, numpy as np
for n in sys.argv[1:]:
    d = np.load(f"runs/s12/{n}.npz")
    def p(a, b): return 10*np.log10(255**2/((a.astype(float)-b.astype(float))**2).mean())
    e = d["fake_b"][:, :8].astype(float) - d["real_b"][:, :8].astype(float)
    c = e - e.mean(-1, keepdims=True)
    print(f"{n:12s} strip {p(d['fake_b'][:, :8], d['real_b'][:, :8]):.2f} dB  roll16 {p(d['fake_f'], d['real_f']):.2f} dB  strip colour-err share {(c**2).sum()/(e**2).sum():.2f}")

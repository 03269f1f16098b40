import os, sys, torch
import world_models.processes as P
rho = float(os.environ.get("RHO", "0")); temp = float(os.environ.get("TEMP", "1"))
_randn = torch.randn
class _T:
    def __getattr__(self, k): return getattr(torch, k)
    @staticmethod
    def randn(shape, generator=None, device=None):
        z = _randn(shape, generator=generator, device=device)
        s = z[:, :1]  # reuse channel 0 as the shared part
        zi = z[:, 1:]
        out = torch.cat([s, rho**0.5 * s + (1-rho)**0.5 * zi[:, :2]], 1) if z.shape[1] == 3 else z
        return out * temp
P.torch = _T()
sys.argv = [sys.argv[0]] + sys.argv[1:]
exec(open("docs/benchmark/colour/scripts/gen.py").read())

"""Does the spectral discriminator see luminance-preserving chroma noise of the generator's size?"""
import numpy as np, torch
from world_models.adversarial import Adversary
from worldgen_core.world import WorldCore
torch.set_num_threads(2)
core = WorldCore()
rng = np.random.default_rng(0)
pos = np.stack([rng.integers(0, core.grid[0], 64), rng.integers(0, core.grid[1], 64)], 1)
real = (torch.from_numpy(core.views(pos)).permute(0, 3, 1, 2).float() / 127.5 - 1)[:, :, :16]
g = torch.Generator().manual_seed(0)
n = torch.randn(real.shape, generator=g) * (2 / 127.5)  # about 2/255 per channel
n = n - n.mean(1, keepdim=True)  # chroma only: brightness unchanged
fake = (real + n).clamp(-1, 1)
for hp, ch in ((False, False), (True, False), (True, True)):
    ms = []
    for s in range(3):
        torch.manual_seed(s)
        adv = Adversary("cpu", band=16, lr=1e-3, highpass=hp, chroma=ch)
        logs = [adv.discriminator_step(real, fake) for _ in range(60)]
        ms.append(round(logs[-1]["charts/disc_real"] - logs[-1]["charts/disc_fake"], 3))
    print("highpass", hp, "chroma", ch, "margins", ms)

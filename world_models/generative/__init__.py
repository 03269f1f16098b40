"""The generative processes: probability paths (:mod:`.paths`), the denoiser view of a network
(:mod:`.denoiser`), DDPM and flow matching (:mod:`.processes`), samplers of one signature
(:mod:`.solvers`) and the sampling settings a checkpoint stores (:mod:`.sampling`)."""

from world_models.generative.processes import DDPM, FlowMatching, Process, make_process
from world_models.generative.sampling import SamplingConfig

__all__ = ["DDPM", "FlowMatching", "Process", "SamplingConfig", "make_process"]

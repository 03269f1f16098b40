"""Train a world model: ``python train_world.py --experiment world_flow --cfg --preset small --time-budget 3600``.

Experiments: ``diffusion`` (unconditional DiT, DDPM), ``world`` (WorldDiT, DDPM), ``world_flow``
(WorldDiT, flow matching). ``--help`` lists every option; runs resume with ``--resume``; the same
script runs under ``torchrun --nproc_per_node N``.
"""

from world_models.training import main

if __name__ == "__main__":
    main()

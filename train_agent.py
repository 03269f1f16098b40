"""Train PPO in the real or the dreamed world: ``python train_agent.py --env DreamWorldMap-v0 --timesteps 200000``.

``--help`` lists every option. Every policy is evaluated in the REAL env (``WorldMap-v0``).
"""

from agents.training import main

if __name__ == "__main__":
    main()

"""``python -m world_models.training``: one training stage with every setting."""

from world_models.training.trainer import main

main()

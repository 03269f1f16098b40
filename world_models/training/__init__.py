"""Training: one stage with every setting (:mod:`.trainer`, ``python -m world_models.training``), the
one-command recipe of stages (:mod:`.recipe`, ``train_world.py``), and the trainer's plug-ins."""

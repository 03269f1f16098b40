"""Train a dream-ready world model for a map in one command: ``python train_world.py --map my_map.png``.

Runs the whole recipe (:mod:`world_models.training.recipe`: flow matching with a place field, then the
realism stage, then export to ``OUT/world_model.pt``: the shipped model's stages and settings) inside one
time budget (``--time-budget``, 45 minutes by default); ``--resume`` continues it. It fine-tunes the
universal model (``data/universal.pt``) by default.
One stage with every setting (the experiments, ablations, ``torchrun``):
``python -m world_models.training --help``.
"""

from world_models.training.recipe import main

if __name__ == "__main__":
    main()

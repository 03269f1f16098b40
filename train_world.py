"""Train a dream-ready world model for a map in one command: ``python train_world.py --map my_map.png --time-budget
2700``.

Runs the whole recipe (:mod:`world_models.training.recipe`: flow matching, then adversarial sharpening of
the one-step sampler, then export to ``OUT/world_model.pt``) inside one time budget; ``--resume``
continues it. ``--pretrained data/universal.pt`` fine-tunes the model trained on many maps.
One stage with every setting (the experiments, ablations, ``torchrun``):
``python -m world_models.training --help``.
"""

from world_models.training.recipe import main

if __name__ == "__main__":
    main()

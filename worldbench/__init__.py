"""worldbench: the world-model yardstick. Every number is against the true views of a known map.

One concern per module:

* :mod:`worldbench.models`: model specs (``copy``, ``shift``, ``oracle``, a checkpoint path, or
  ``module:factory`` for anyone's own simulator) -> fresh :class:`worldgen_core.simulator.Simulator`
  objects;
* :mod:`worldbench.runners`: episodes stepped through the protocol exactly as the dream env steps
  them: one-step transitions, open-loop rollouts, loop closures;
* :mod:`worldgen_core.metrics`: worldbench's pixel measures (PSNR, revealed strips and bands, sharpness,
  contrast, streaks), kept in the core so that training logs the same numbers under the same names;
* :mod:`worldbench.c2st`: the classifier two-sample test (realism) and its calibration;
* :mod:`worldbench.kid`: KID with random-network features (secondary);
* :mod:`worldbench.cost`: FLOPs per generated frame, dream env-steps/s;
* :mod:`worldbench.report`: the leaderboard (markdown, JSON) and its figures and GIF;
* ``python -m worldbench``: the command (``--help``).
"""

from worldgen_core import __version__  # noqa: F401  (one version for the whole package)

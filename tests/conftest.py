"""Shared fixtures. The tree mirrors the packages: tests/worldgen_core, tests/worldgen_env,
tests/world_models, tests/agents, tests/worldbench; cross-cutting checks (CLI robustness, the
layers) sit at the top. Helpers shared by several test modules live in ``helpers.py``."""

import os
import signal
import subprocess

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# The suite runs as 2 xdist workers on 2 cores: one thread each avoids oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from world_models.training.trainer import Args, GuidanceArgs, SampleArgs, train  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture
def popen():
    """``subprocess.Popen`` for tests that drive a CLI by signals. Every child still running when the
    test ends (it failed or timed out) is killed, so a failed test leaves no run behind to slow the
    tests after it (a 1M-step agent run left over had made the next suite's signal tests time out).
    Each child starts with SIGINT at its default, so Python turns it into KeyboardInterrupt even when
    the suite itself runs where SIGINT is ignored (a shell's background job, ``nohup ... &``)."""
    procs = []

    def start(*args, **kw):
        kw.setdefault("preexec_fn", lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        procs.append(subprocess.Popen(*args, **kw))
        return procs[-1]

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.communicate()


@pytest.fixture(scope="session")
def tiny_world_model(tmp_path_factory) -> str:
    """A 2-step tiny WorldDiT checkpoint (flow matching, CFG, 2 sampler steps), trained once per worker."""
    out = tmp_path_factory.mktemp("tiny_wm")
    return str(
        train(
            Args(
                experiment="world_flow",
                preset="tiny",
                out=str(out),
                steps=2,
                batch_size=4,
                eval_every=0,
                progress=False,
                cfg=GuidanceArgs(on=True),
                sample=SampleArgs(steps=2),
            )
        )
    )


@pytest.fixture(scope="session")
def ckpt(tiny_world_model) -> str:
    """The tiny checkpoint, under the name the dream and agent tests use."""
    return tiny_world_model

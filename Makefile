# Two commands do all set-up on a fresh machine:
#   make demo   - create .venv, install, run the main job on the shipped defaults
#   make test   - create .venv, install, lint (ruff) and run the whole test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A local CPU wheel is installed first; an unpinned `torch` would pull gigabytes of CUDA packages.
TORCH ?= torch==2.13.0
export SDL_AUDIODRIVER ?= dummy
export SDL_VIDEODRIVER ?= dummy

.PHONY: demo test venv bench clean

$(BIN)/.installed: setup.cfg pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[dev,play]"
	touch $@

venv: $(BIN)/.installed

# The main job: PPO trained inside DreamWorldMap-v0 (the shipped world model), evaluated in the
# real WorldMap-v0 next to a random policy; report, curves and GIFs in runs/demo-DATE-TIME (each
# demo gets its own folder: a run folder is never overwritten).
DEMO_ARGS ?=
DEMO_OUT ?= runs/demo-$(shell date +%Y%m%d-%H%M%S)
demo: venv
	$(BIN)/python train_agent.py --env DreamWorldMap-v0 --out $(DEMO_OUT) $(DEMO_ARGS)

test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 -q

bench: venv
	$(BIN)/python -m worldgen_env.speed

clean:
	rm -rf $(VENV) runs

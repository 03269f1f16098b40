"""The layers depend one way: this test fails on an import that crosses them backwards.

    worldgen_core   the world: map, generation, dynamics, task, simulator protocol (numpy, Pillow, SciPy);
                    and what every tool shares: the CLI, run folders, atomic files
      <- worldgen_env   Gymnasium envs; dream.py is where envs use models (speed.py and
                        rollout_gif.py are tools on top of the dream)
      <- world_models   DiT / WorldDiT, processes, training: the core only, never the envs
    agents, worldbench, train_*.py: on top of both

Checked two ways: statically (every ``import`` in every module, at any depth, read with ``ast``;
project imports only at module level, so no cycle hides inside a function) and by importing each
lower layer in a fresh interpreter and looking at what it pulled in.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("worldgen_core", "worldgen_env", "world_models", "agents", "worldbench")

#: package -> (project packages it may import, third-party packages it must not import)
RULES = {
    "worldgen_core": (set(), {"torch", "gymnasium", "stable_baselines3"}),
    "world_models": ({"worldgen_core"}, {"gymnasium", "stable_baselines3"}),
    "worldgen_env": ({"worldgen_core"}, {"stable_baselines3"}),
    "agents": ({"worldgen_core", "worldgen_env", "world_models"}, set()),
    "worldbench": ({"worldgen_core", "worldgen_env", "world_models", "agents"}, set()),
}
#: the env modules that may use models: the dream, and the tools built on it
ENV_MODULES_USING_MODELS = {"dream.py", "speed.py", "rollout_gif.py"}


def _imports(path: Path):
    """(top-level package, line, at module level?) of every absolute import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            yield name.split(".")[0], node.lineno, id(node) in top


def _modules(package: str):
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(RULES))
def test_imports_follow_the_layers(package):
    allowed, banned = RULES[package]
    bad = []
    for path in _modules(package):
        rel = path.relative_to(ROOT)
        for name, line, at_top in _imports(path):
            if name in PROJECT and name != package:
                ok = name in allowed or (
                    package == "worldgen_env" and name == "world_models" and path.name in ENV_MODULES_USING_MODELS
                )
                if not ok:
                    bad.append(f"{rel}:{line} imports {name}")
                elif not at_top:
                    bad.append(
                        f"{rel}:{line} imports {name} inside a function (project imports belong at module level)"
                    )
            if name in banned:
                bad.append(f"{rel}:{line} imports {name}, which the {package} layer must not depend on")
    assert not bad, "imports that cross the layers:\n" + "\n".join(bad)


def test_no_lazy_module_getattr():
    """No module-level ``__getattr__`` (a lazy import that hides a cycle)."""
    lazy = [
        str(p.relative_to(ROOT))
        for pkg in PROJECT
        for p in _modules(pkg)
        if any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in ast.parse(p.read_text()).body)
    ]
    assert not lazy, f"module __getattr__ in {lazy}"


@pytest.mark.parametrize(
    "package, must_not_load",
    [
        ("worldgen_core", ["torch", "gymnasium", "worldgen_env", "world_models"]),
        ("world_models", ["gymnasium", "worldgen_env", "stable_baselines3"]),
        ("worldgen_env", ["stable_baselines3", "agents", "worldbench"]),
    ],
)
def test_a_lower_layer_imports_alone(package, must_not_load):
    """In a fresh interpreter: the package imports (no cycle) and pulls in nothing from above it."""
    code = f"import sys, {package}; print(','.join(m for m in {must_not_load!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"importing {package} loaded {out.stdout.strip()}"


#: world_models' parts -> the other parts (sub-packages, or top-level modules) each may import: the network knows
#: nothing of processes, the processes nothing of networks, files only the sampling settings; training uses them all
WORLD_MODELS_PARTS = {
    "model": set(),
    "generative": set(),
    "io": {"generative"},
    "data": {"episodes"},
    "baselines": set(),
    "episodes": set(),
    "inference": {"data", "generative", "io", "model"},
    "speed": {"generative", "inference", "model"},
    "training": {"data", "episodes", "generative", "inference", "io", "model"},
}


def _world_models_part(path: Path) -> str:
    rel = path.relative_to(ROOT / "world_models").parts
    return rel[0] if len(rel) > 1 else Path(rel[0]).stem


def test_world_models_parts_depend_one_way():
    bad = []
    for path in _modules("world_models"):
        part = _world_models_part(path)
        if part == "__init__":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("world_models."):
                other = node.module.split(".")[1]
                if other != part and other not in WORLD_MODELS_PARTS.get(part, set()):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} ({part}) imports world_models.{other}")
    assert set(WORLD_MODELS_PARTS) >= {_world_models_part(p) for p in _modules("world_models")} - {"__init__"}
    assert not bad, "world_models' parts crossing their order:\n" + "\n".join(bad)


def test_nothing_imports_the_experiments():
    """experiments/ sits beside the product: scripts on top of it, never a dependency of it."""
    bad = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PROJECT
        for path in _modules(package)
        for name, line, _ in _imports(path)
        if name == "experiments"
    ]
    assert not bad, f"the product imports experiments/: {bad}"

"""The product as a user meets it: no word of how it was built, every package and shipped file in
the wheel, a model card beside (and inside) every shipped model, one test command."""

import configparser
import fnmatch
import re
import subprocess
from pathlib import Path

import pytest
from setuptools import find_packages

from world_models.io.card import release_text
from world_models.io.checkpoint import load_checkpoint
from worldgen_core.assets import DATA_DIR

ROOT = Path(__file__).resolve().parent.parent
SETUP = configparser.ConfigParser()
SETUP.read(ROOT / "setup.cfg")

# Words that say how or when something was built, not what it is. Written so that this file does not match itself.
PROCESS_WORDS = re.compile(r"\b(?:sess" r"ions?|iss" r"ue\s*#?\s*\d+)\b", re.I)
ALLOWED = [re.compile(r"""scope=["']sess""" r"""ion["']""")]  # pytest's fixture scope is an API name
TEXT_SUFFIXES = {".py", ".md", ".cfg", ".toml", ".txt", ".sh", ".json", ".jsonl", ".yaml", ".yml", ".ini", ".csv", ""}


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode()
        return [ROOT / f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):  # not a checkout: every file but the environment's
        skip = {".git", ".venv", "runs", "build", "dist", "__pycache__"}
        return [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]


def process_words(text: str) -> list[str]:
    for allowed in ALLOWED:
        text = allowed.sub("", text)
    return [m.group(0) for m in PROCESS_WORDS.finditer(text)]


def test_the_check_finds_process_words():
    word, number = "sess" + "ion", "Iss" + "ue"  # spelled apart so that this file passes its own check
    assert (
        process_words(f"the model of {word} 15") and process_words(f"see {number} 13") and process_words(f"two {word}s")
    )
    assert not process_words(f'@pytest.fixture(scope="{word}")') and not process_words("an issue with the map")


def test_no_word_of_how_it_was_built():
    found = []
    for f in tracked_files():
        rel = f.relative_to(ROOT).as_posix()
        found += [f"file name {rel}"] * bool(process_words(rel.replace("_", " ").replace("/", " ")))
        if f.suffix.lower() in TEXT_SUFFIXES and f.is_file():
            try:
                text = f.read_text()
            except UnicodeDecodeError:
                continue
            found += [
                f"{rel}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}"
                for m in PROCESS_WORDS.finditer(text)
                if process_words(m.group(0))
                and not any(a.search(text[max(0, m.start() - 8) : m.end() + 2]) for a in ALLOWED)
            ]
    assert not found, (
        "name things by what they are (models by name and version), not by how they were built:\n"
        + "\n".join(found[:40])
    )


def test_setup_lists_every_package():
    listed = set(SETUP["options"]["packages"].split())
    found = set(
        find_packages(ROOT, include=["worldgen_core*", "worldgen_env*", "world_models*", "agents*", "worldbench*"])
    )
    assert found <= listed, f"add {sorted(found - listed)} to setup.cfg's packages"
    assert "worldgen_data" in listed and SETUP["options"]["package_dir"].split() == ["worldgen_data", "=", "data"]


def test_the_wheel_carries_every_shipped_file():
    globs = SETUP["options.package_data"]["worldgen_data"].replace(",", " ").split()
    shipped = [
        p.relative_to(ROOT / "data").as_posix()
        for p in (ROOT / "data").rglob("*")
        if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts
    ]
    missed = [s for s in shipped if not any(fnmatch.fnmatch(s, g) for g in globs)]
    assert shipped and not missed, f"setup.cfg's package_data for worldgen_data misses {missed}"
    assert (DATA_DIR / "world_map.png").is_file() and (DATA_DIR / "world_model.pt").is_file()


@pytest.mark.parametrize("name", ["world_model", "universal"])
def test_every_shipped_model_has_its_card_beside_and_inside(name):
    card = (ROOT / "data" / f"{name}.md").read_text()
    ck = load_checkpoint(ROOT / "data" / f"{name}.pt")
    assert ck.get("card", {}).get("text") == release_text(card), (  # the file may add notes since release
        f"data/{name}.pt's card differs from data/{name}.md: run python -m world_models.io.card data/{name}.pt"
    )
    assert card.startswith(f"# Model card: {ck['card']['name']} v{ck['card']['version']}")
    for section in ("## Scores", "## How it was made", "## Intended use", "## Known limits"):
        assert section in card


def test_pytest_and_make_test_run_the_same_tests():
    paths = SETUP["tool:pytest"]["testpaths"].split()
    make = (ROOT / "Makefile").read_text()
    run = re.search(r"-m pytest([^\n]*)", make).group(1).split()
    assert not [a for a in run if not a.startswith("-") and not a.isdigit()], (
        "make test should run pytest's testpaths (setup.cfg), not its own list"
    )
    assert {"tests", "worldgen_core", "worldgen_env", "world_models", "agents", "worldbench"} <= set(paths)


def test_every_docs_path_named_in_the_product_exists():
    """``--help``, docstrings and the README point at docs pages and figures by path: each must exist."""
    ref = re.compile(r"(?<![\w/])((?:docs|data)/[\w./-]+\.(?:md|png|gif|json|pt))")
    missing = []
    for f in tracked_files():
        if f.suffix in {".py", ".md", ".cfg"} and f.is_file() and "docs" not in f.relative_to(ROOT).parts[:1]:
            missing += [f"{f.relative_to(ROOT)}: {m}" for m in ref.findall(f.read_text()) if not (ROOT / m).exists()]
    assert not missing, "\n".join(missing)

"""Model cards: the Markdown file beside a shipped checkpoint, and the same text inside it.

``python -m world_models.io.card data/world_model.pt`` reads ``data/world_model.md`` (its first line:
``# Model card: NAME vVERSION ...``) and stores it in the checkpoint as
``ck["card"] = {"name", "version", "text"}``, so a checkpoint copied on its own still says what it
is. Reports name a model by :func:`model_name`.

The text inside is the card as the model was released; the file beside may add, at its end, a
section ``## Since release`` (what changed around the model: a new command that makes it, flags
renamed), so that notes never rewrite the weights' file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import tyro

from world_models.io.checkpoint import load_checkpoint, save_checkpoint
from worldgen_core.cli import run_cli

__all__ = ["read_card", "write_card", "model_name", "release_text", "SINCE_RELEASE"]

#: the heading of the notes a card beside its checkpoint may add after the release text
SINCE_RELEASE = "## Since release"
_TITLE = re.compile(r"^# Model card: (?P<name>[\w.-]+) v(?P<version>[\w.]+)")


def release_text(card: str) -> str:
    """A card's text without its ``## Since release`` notes: what the checkpoint stores.

    >>> release_text("# Model card: m v1\\n\\nbody\\n\\n## Since release\\n\\nnotes\\n")
    '# Model card: m v1\\n\\nbody\\n'
    """
    head, sep, _ = card.partition("\n" + SINCE_RELEASE + "\n")
    return head if sep else card


def read_card(md: str | Path) -> dict:
    """``{"name", "version", "text"}`` of a model card file; ``ValueError`` if its title is not a card's."""
    if not Path(md).is_file():
        raise FileNotFoundError(
            f"model card {str(md)!r} does not exist; write it (see data/world_model.md) or pass --md"
        )
    text = Path(md).read_text()
    m = _TITLE.match(text)
    if not m:
        raise ValueError(f"{str(md)!r} does not start with '# Model card: NAME vVERSION'; write the card's title first")
    return {"name": m["name"], "version": m["version"], "text": release_text(text)}


def write_card(checkpoint: str | Path, md: str | Path | None = None) -> dict:
    """Store the card ``md`` (default: the ``.md`` beside ``checkpoint``) inside ``checkpoint``."""
    checkpoint = Path(checkpoint)
    ck = load_checkpoint(checkpoint)
    card = read_card(md or checkpoint.with_suffix(".md"))
    save_checkpoint(checkpoint, {**ck, "card": card})
    return card


def model_name(ck: dict, path: str | Path | None = None) -> str:
    """``"worlddit-worldmap v5"`` for a checkpoint with a card; else its file name (``"last.pt"``)."""
    card = ck.get("card") or {}
    if card.get("name"):
        return f"{card['name']} v{card['version']}"
    return Path(path).name if path is not None else "unnamed model"


@dataclass
class Args:
    """Store a model card in its checkpoint."""

    checkpoint: tyro.conf.Positional[Path]
    """the checkpoint (.pt) to write the card into"""
    md: Path | None = None
    """the card (default: the .md file beside the checkpoint)"""


def main(argv: list[str] | None = None) -> None:
    def run(a: Args):
        card = write_card(a.checkpoint, a.md)
        print(f"wrote the card of {card['name']} v{card['version']} into {a.checkpoint}")

    run_cli(Args, run, argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    main()

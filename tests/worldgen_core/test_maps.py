"""Map sources: mapgen's varied styles and batch CLI, the city generator (a held-out style), map folders."""

import numpy as np
import pytest
from PIL import Image

from worldgen_core.citygen import generate_city
from worldgen_core.citygen import main as city_main
from worldgen_core.mapgen import MapStyle, generate_map, parse_seeds
from worldgen_core.mapgen import main as mapgen_main
from worldgen_core.world_map import map_files


def test_random_styles_differ_in_palette_and_density_and_are_deterministic():
    a, b = MapStyle.random(1), MapStyle.random(2)
    assert a == MapStyle.random(1) and a != b and a != MapStyle()
    assert a.sea != b.sea and (a.tree_spacing, a.sea_level) != (b.tree_spacing, b.sea_level)
    ia, ib = generate_map(5, 192, 160, a), generate_map(5, 192, 160, b)
    assert np.abs(ia.astype(int).mean((0, 1)) - ib.astype(int).mean((0, 1))).max() > 3  # another colour scheme


def test_mapgen_writes_many_maps_in_parallel_and_keeps_existing_files(tmp_path):
    paths = mapgen_main(
        ["--seeds", "3-4", "--random-style", "--width", "160", "--height", "128", "--out-dir", str(tmp_path), "-j", "2"]
    )
    assert sorted(p.name for p in paths) == ["mapgen_3.png", "mapgen_4.png"]
    want = generate_map(4, 160, 128, MapStyle.random(4))
    assert (np.asarray(Image.open(tmp_path / "mapgen_4.png")) == want).all()
    assert mapgen_main(
        ["--seeds", "3-5", "--random-style", "--width", "160", "--height", "128", "--out-dir", str(tmp_path)]
    ) == [tmp_path / "mapgen_5.png"]
    with pytest.raises(ValueError, match="'100-163'"):
        parse_seeds("a-b")
    with pytest.raises(SystemExit):
        mapgen_main(["--seeds", "1-2"])  # no --out-dir


def test_city_style_is_unlike_the_atlas():
    city, atlas = generate_city(0, 320, 256), generate_map(0, 320, 256)
    # flat vector colours: few distinct colours, where the atlas's paper texture gives thousands
    n_city, n_atlas = (len(np.unique(im.reshape(-1, 3), axis=0)) for im in (city, atlas))
    assert n_city < 64 < 1000 < n_atlas
    with pytest.raises(ValueError, match="at least 128x128"):
        generate_city(0, 100, 300)


def test_city_cli_never_overwrites(tmp_path, capsys):
    out = tmp_path / "c.png"
    city_main(["--width", "160", "--height", "128", "-o", str(out)])
    before = out.read_bytes()
    with pytest.raises(SystemExit):
        city_main(["--width", "160", "--height", "128", "-o", str(out), "--seed", "3"])
    assert "exists" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_map_files_expands_folders_and_names_bad_paths(tmp_path):
    (tmp_path / "maps").mkdir()
    for n in ("b.png", "a.jpg", "notes.txt"):
        (tmp_path / "maps" / n).write_bytes(b"x")
    assert [p.name for p in map_files([tmp_path / "maps"])] == ["a.jpg", "b.png"]
    with pytest.raises(FileNotFoundError, match="nope.png"):
        map_files([tmp_path / "nope.png"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no image"):
        map_files([tmp_path / "empty"])

"""The shipped files: the default world map (``world_map.png``), the world models
(``world_model.pt``, ``universal.pt``) with their model cards (``*.md``), and held-out maps.

Installed as the package ``worldgen_data``, so a wheel dreams out of the box;
``worldgen_core.assets.data_path`` finds them in a checkout and in an installed package alike.
"""

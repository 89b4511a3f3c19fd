"""ImageNet-C-bar severity levels (Mintun, Kirillov & Xie 2021, NeurIPS), as plain data.

``TABLES = {preset: {corruption_name: [sev1, ..., sev5]}}``. Each entry is the *level*
(0-10 scale) the reference passes to its transform for that severity, copied from
``imagenet_c_bar/imagenet_c_bar.csv`` in facebookresearch/augmentation-corruption. A
transform turns a level into its parameter with ``level * maxval / 10`` (see
:func:`corruptions.cbar.level_fraction`). The reference folders are named by the level
(``"{:.2f}"``, e.g. ``caustic_refraction/2.35``); this package names them 1-5.

Only ImageNet (224 px) levels are published for these ten corruptions (CIFAR-10-C-bar uses
a different set of corruptions), so only the ``imagenet`` preset is defined.
"""

from __future__ import annotations

TABLES = {
    "imagenet": {
        "blue_noise_sample": [0.8, 1.6, 2.4, 4.0, 5.6],
        "brownish_noise": [1.0, 2.0, 3.0, 4.0, 5.0],
        "caustic_refraction": [2.35, 3.2, 4.9, 6.6, 9.15],
        "checkerboard_cutout": [2.0, 3.0, 4.0, 5.0, 6.0],
        "cocentric_sine_waves": [3.0, 5.0, 8.0, 9.0, 10.0],
        "inverse_sparkles": [1.0, 2.0, 4.0, 9.0, 10.0],
        "perlin_noise": [4.6, 5.2, 5.8, 7.6, 8.8],
        "plasma_noise": [4.75, 7.0, 8.5, 9.25, 10.0],
        "single_frequency_greyscale": [1.0, 1.5, 2.0, 4.5, 5.0],
        "sparkles": [1.0, 2.0, 3.0, 5.0, 6.0],
    }
}

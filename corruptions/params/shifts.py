"""Severity ladders of the albumentations-based shifts (not ImageNet-C), as plain data.

``LADDERS = {shift_name: {"transform": albumentations class, "fixed": {...},
"severities": [{...} x 5]}}``. Keyword names are albumentations 2.x arguments, except
those ending in ``_fraction``: they are lengths given as a fraction of the image's shorter
side and are converted to pixels by :mod:`corruptions.shifts`, so a ladder means the same
at 32 px and at 224 px. The values are this project's choice (no published ladder exists):
each step was picked so that the mean absolute change from the clean image grows with
severity (checked in ``tests/corruptions/test_shifts.py``).

==========  ==============  ===============================================================
name        transform       severity 1 -> 5
==========  ==============  ===============================================================
rain        RandomRain      drizzle/default/heavy/heavy/torrential; drop length 5-20 % of
                            the side; brightness 0.95 -> 0.75
sun_flare   RandomSunFlare  flare radius 15 -> 55 % of the side, 6 circles, physics-based
shadow      RandomShadow    1, 1, 2, 2, 3 shadows; darkening 0.3 -> 0.7
iso_noise   ISONoise        hue shift 0.01 -> 0.05; noise intensity 0.1 -> 0.9
color_shift RGBShift        +-10 -> +-50 (0-255) per channel, signs drawn per image
downscale   Downscale       scale 0.5 -> 0.125 (area down, linear up)
==========  ==============  ===============================================================
"""

from __future__ import annotations

LADDERS = {
    "rain": {
        "transform": "RandomRain",
        "fixed": {"slant_range": (-10, 10), "drop_width": 1, "blur_value": 3},
        "severities": [
            {"rain_type": "drizzle", "drop_length_fraction": 0.05, "brightness_coefficient": 0.95},
            {"rain_type": "default", "drop_length_fraction": 0.08, "brightness_coefficient": 0.9},
            {"rain_type": "heavy", "drop_length_fraction": 0.1, "brightness_coefficient": 0.85},
            {"rain_type": "heavy", "drop_length_fraction": 0.15, "brightness_coefficient": 0.8},
            {"rain_type": "torrential", "drop_length_fraction": 0.2, "brightness_coefficient": 0.75},
        ],
    },
    "sun_flare": {
        "transform": "RandomSunFlare",
        "fixed": {"flare_roi": (0, 0, 1, 0.5), "num_flare_circles_range": (6, 6), "method": "physics_based"},
        "severities": [{"src_radius_fraction": r} for r in (0.15, 0.25, 0.35, 0.45, 0.55)],
    },
    "shadow": {
        "transform": "RandomShadow",
        "fixed": {"shadow_roi": (0, 0.5, 1, 1), "shadow_dimension": 5},
        "severities": [
            {"num_shadows_limit": (n, n), "shadow_intensity_range": (a, a)}
            for n, a in ((1, 0.3), (1, 0.4), (2, 0.5), (2, 0.6), (3, 0.7))
        ],
    },
    "iso_noise": {
        "transform": "ISONoise",
        "fixed": {},
        "severities": [
            {"color_shift": (c, c), "intensity": (i, i)}
            for c, i in ((0.01, 0.1), (0.02, 0.25), (0.03, 0.4), (0.04, 0.6), (0.05, 0.9))
        ],
    },
    "color_shift": {
        "transform": "RGBShift",
        "fixed": {},
        "severities": [{"shift": s} for s in (10, 20, 30, 40, 50)],
    },
    "downscale": {
        "transform": "Downscale",
        "fixed": {},
        "severities": [{"scale": s} for s in (0.5, 0.35, 0.25, 0.175, 0.125)],
    },
}

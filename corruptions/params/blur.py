"""Blur-family parameter tables, per resolution preset, as in the reference scripts.

Sources (hendrycks/robustness, ``ImageNet-C/create_c/``): ``make_imagenet_c.py``
(preset ``imagenet``, 224 px), ``make_tinyimagenet_c.py`` (``tiny-imagenet``,
64 px), ``make_cifar_c.py`` (``cifar``, 32 px). Each list holds severities 1-5.

Entry meaning per corruption (units as in the reference, pixels unless noted):

* ``defocus_blur``: ``(disk radius, anti-alias Gaussian sigma)``
* ``glass_blur``: ``(Gaussian sigma, max pixel displacement d, iterations)``
* ``motion_blur``: ``(ImageMagick radius, ImageMagick sigma)``
* ``zoom_blur``: ``(start, stop, step)`` of ``np.arange`` giving the zoom factors
  (``(1, 1.11, 0.01)`` yields 12 factors: floating point makes 1.11 included)
* ``gaussian_blur``: Gaussian sigma
"""

TABLES = {
    "imagenet": {
        "defocus_blur": [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)],
        "glass_blur": [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)],
        "motion_blur": [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)],
        "zoom_blur": [
            (1, 1.11, 0.01),
            (1, 1.16, 0.01),
            (1, 1.21, 0.02),
            (1, 1.26, 0.02),
            (1, 1.31, 0.03),
        ],
        "gaussian_blur": [1, 2, 3, 4, 6],
    },
    "tiny-imagenet": {
        "defocus_blur": [(0.5, 0.6), (1, 0.1), (1.5, 0.1), (2.5, 0.01), (3, 0.1)],
        "glass_blur": [(0.1, 1, 1), (0.5, 1, 1), (0.6, 1, 2), (0.7, 2, 1), (0.9, 2, 2)],
        "motion_blur": [(10, 1), (10, 1.5), (10, 2), (10, 2.5), (12, 3)],
        "zoom_blur": [
            (1, 1.06, 0.01),
            (1, 1.11, 0.01),
            (1, 1.16, 0.01),
            (1, 1.21, 0.01),
            (1, 1.26, 0.01),
        ],
        "gaussian_blur": [0.5, 0.75, 1, 1.25, 1.5],
    },
    "cifar": {
        "defocus_blur": [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)],
        "glass_blur": [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)],
        "motion_blur": [(6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)],
        "zoom_blur": [
            (1, 1.06, 0.01),
            (1, 1.11, 0.01),
            (1, 1.16, 0.01),
            (1, 1.21, 0.01),
            (1, 1.26, 0.01),
        ],
        "gaussian_blur": [0.4, 0.6, 0.7, 0.8, 1],
    },
}

"""Digital family parameters, one entry per severity 1-5, as in the reference scripts.

* contrast: factor applied to each pixel's distance from the per-channel mean.
* brightness: amount added to HSV value (0-1).
* saturate: (scale, offset) applied to HSV saturation: ``s * scale + offset``.
* jpeg_compression: PIL JPEG quality.
* pixelate: downscale factor (BOX down to ``int(size * c)``, BOX back up).
* elastic_transform: (alpha, sigma, affine_jitter) in pixels: displacement field
  scale, its Gaussian smoothing sigma, and the max shift of the three affine
  anchor points. The imagenet preset keeps the reference's ``244 *`` constants
  (its comment: "244 should have been 224"); the others use ``IMSIZE *``.
"""

TABLES = {
    "imagenet": {  # make_imagenet_c.py
        "contrast": [0.4, 0.3, 0.2, 0.1, 0.05],
        "brightness": [0.1, 0.2, 0.3, 0.4, 0.5],
        "saturate": [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)],
        "jpeg_compression": [25, 18, 15, 10, 7],
        "pixelate": [0.6, 0.5, 0.4, 0.3, 0.25],
        "elastic_transform": [
            (244 * 2, 244 * 0.7, 244 * 0.1),
            (244 * 2, 244 * 0.08, 244 * 0.2),
            (244 * 0.05, 244 * 0.01, 244 * 0.02),
            (244 * 0.07, 244 * 0.01, 244 * 0.02),
            (244 * 0.12, 244 * 0.01, 244 * 0.02),
        ],
    },
    "tiny-imagenet": {  # make_tinyimagenet_c.py (IMSIZE = 64)
        "contrast": [0.4, 0.3, 0.2, 0.1, 0.05],
        "brightness": [0.1, 0.2, 0.3, 0.4, 0.5],
        "saturate": [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (30, 0.2)],
        "jpeg_compression": [65, 58, 50, 40, 25],
        "pixelate": [0.9, 0.8, 0.7, 0.6, 0.5],
        "elastic_transform": [
            (64 * 0, 64 * 0, 64 * 0.08),
            (64 * 0.05, 64 * 0.3, 64 * 0.06),
            (64 * 0.1, 64 * 0.08, 64 * 0.06),
            (64 * 0.1, 64 * 0.03, 64 * 0.03),
            (64 * 0.16, 64 * 0.03, 64 * 0.02),
        ],
    },
    "cifar": {  # make_cifar_c.py (IMSIZE = 32)
        "contrast": [0.75, 0.5, 0.4, 0.3, 0.15],
        "brightness": [0.05, 0.1, 0.15, 0.2, 0.3],
        "saturate": [(0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)],
        "jpeg_compression": [80, 65, 58, 50, 40],
        "pixelate": [0.95, 0.9, 0.85, 0.75, 0.65],
        "elastic_transform": [
            (32 * 0, 32 * 0, 32 * 0.08),
            (32 * 0.05, 32 * 0.2, 32 * 0.07),
            (32 * 0.08, 32 * 0.06, 32 * 0.06),
            (32 * 0.1, 32 * 0.04, 32 * 0.05),
            (32 * 0.1, 32 * 0.03, 32 * 0.03),
        ],
    },
}

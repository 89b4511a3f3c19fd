"""Noise family parameters, one entry per severity 1-5, as in the reference scripts.

* gaussian_noise: std of additive Gaussian noise, fraction of the 0-1 range.
* shot_noise: photons per unit intensity (Poisson rate multiplier; lower is noisier).
* impulse_noise: fraction of subpixels flipped to salt (1) or pepper (0).
* speckle_noise: std of multiplicative Gaussian noise.
"""

TABLES = {
    "imagenet": {  # make_imagenet_c.py
        "gaussian_noise": [0.08, 0.12, 0.18, 0.26, 0.38],
        "shot_noise": [60, 25, 12, 5, 3],
        "impulse_noise": [0.03, 0.06, 0.09, 0.17, 0.27],
        "speckle_noise": [0.15, 0.2, 0.35, 0.45, 0.6],
    },
    "tiny-imagenet": {  # make_tinyimagenet_c.py
        "gaussian_noise": [0.04, 0.08, 0.12, 0.15, 0.18],
        "shot_noise": [250, 100, 50, 30, 15],
        "impulse_noise": [0.01, 0.02, 0.05, 0.08, 0.14],
        "speckle_noise": [0.15, 0.2, 0.25, 0.3, 0.35],
    },
    "cifar": {  # make_cifar_c.py
        "gaussian_noise": [0.04, 0.06, 0.08, 0.09, 0.10],
        "shot_noise": [500, 250, 100, 75, 50],
        "impulse_noise": [0.01, 0.02, 0.03, 0.05, 0.07],
        "speckle_noise": [0.06, 0.1, 0.12, 0.16, 0.2],
    },
}

"""robustness-harness: how far does a classifier's accuracy fall when it leaves ImageNet?"""

__version__ = "0.1.0"

"""Errors raised by the model zoo. Each message says what was wrong and what to do."""

from __future__ import annotations

from corruptions.errors import UserInputError


class WeightsNotFoundError(FileNotFoundError, UserInputError):
    """Pretrained weights are not on disk and could not (or may not) be downloaded."""


class UnsupportedLabelSpaceError(UserInputError):
    """The model does not output 1000-way ImageNet-1k logits, so the harness cannot score it."""


class UnsafeWeightsError(UserInputError):
    """A weight file holds pickled Python objects that ``torch.load(weights_only=True)`` refuses."""


class WeightsMismatchError(UserInputError):
    """A weight file's tensors do not fit the requested architecture."""


class UnknownModelError(UserInputError):
    """A model name (or wildcard, or family) matches nothing timm or torchvision provides."""

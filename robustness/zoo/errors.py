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


class MissingExtraError(UserInputError, ImportError):
    """A model source needs a library that is an optional extra of the harness."""


def import_extra(module: str, extra: str, source: str):
    """``import module`` for a model source, or :class:`MissingExtraError` naming the extra.

    The open_clip and transformers sources import their library only when they load a
    model: ``import robustness`` (and ``robustness --help``) must stay fast and work without
    the optional extras installed.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"model source {source!r} needs the Python package {module!r} ({exc}). Install it "
            f"with: pip install 'robustness-harness[{extra}]'"
        ) from exc

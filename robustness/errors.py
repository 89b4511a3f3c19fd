"""The user-error type of the whole project and the command-line error contract.

Defined once in the leaf package (:mod:`corruptions.errors`) and re-exported
here. Library code raises :class:`UserInputError` (or a subclass such as
``LayoutError``, ``ConfigError``, ``UnknownModelError``) for a user's mistake;
:func:`run_command` turns it into one message on stderr and exit code 2.
"""

from corruptions.errors import USAGE_EXIT, UserInputError, run_command

__all__ = ["USAGE_EXIT", "UserInputError", "run_command"]

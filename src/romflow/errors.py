"""Exceptions raised by romflow; every message says what to change."""

__all__ = [
    "RomflowError",
    "ConfigError",
    "DataError",
    "NotFittedError",
    "TrainingDivergedError",
    "CheckpointBusyError",
]


class RomflowError(Exception):
    """Base class of every error romflow raises on purpose."""


class ConfigError(RomflowError, ValueError):
    """A configuration value is missing, of the wrong type or out of range."""


class DataError(RomflowError, ValueError):
    """A NetCDF or model file is missing, truncated, foreign or inconsistent.

    ``path`` is the file at fault when there is one, ``rule`` the workflow rule
    that wrote it when the file still says so (``romflow.io.RULE_ATTR``): the
    workflow names the rerun that remakes it (``romflow.workflow``).
    """

    def __init__(self, message, *, path=None, rule=None):
        super().__init__(message)
        self.path = None if path is None else str(path)
        self.rule = rule


class NotFittedError(RomflowError, RuntimeError):
    """An estimator was used before ``fit``."""


class TrainingDivergedError(RomflowError, FloatingPointError):
    """Training produced a non-finite loss; the message names iteration and terms."""


class CheckpointBusyError(RomflowError, RuntimeError):
    """Another process is training into the same checkpoint; the message names it."""

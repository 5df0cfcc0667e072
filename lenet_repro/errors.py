"""Exceptions raised by library code. Only CLI entry points turn them into exit codes.

Every message is one line that names the problem and the fix.
"""


class LenetError(Exception):
    """Base class: `str(err)` is a single line for the user."""


class DataError(LenetError):
    """A dataset file is missing, truncated, corrupt or from no reachable source."""


class ConfigError(LenetError):
    """A bad option value, an unknown recipe or an inconsistent configuration."""


class DeviceError(LenetError):
    """The requested compute device is not present."""


class RecordError(LenetError):
    """A run record or checkpoint is malformed, foreign or of an unknown version."""

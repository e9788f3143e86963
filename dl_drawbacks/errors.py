"""User-facing errors. Each prints as one line that says what is wrong and how to fix it."""


class DrawbacksError(Exception):
    """Base of every error caused by user input; the CLI prints it in one line and exits 2."""

    exit_code = 2


class SpecError(DrawbacksError, ValueError):
    """A study spec is malformed: the message names the key path and what is allowed."""


class DataError(DrawbacksError, ValueError):
    """A data set is missing, damaged or does not fit what the spec declares."""


class RunFolderError(DrawbacksError):
    """A run folder cannot be used as asked (exists without --resume, locked, damaged file)."""


class ClusterError(DrawbacksError):
    """The Ray cluster cannot run what the spec asks for (too few CPUs/GPUs, unreachable)."""

"""User-facing errors. Each prints as one line that says what is wrong and how to fix it."""


class DrawbacksError(Exception):
    """Base of every error caused by user input; the CLI prints it in one line and exits 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # one line, whatever the input held (a key or value with a newline is shown escaped)
        super().__init__(str(message).replace("\r", "\\r").replace("\n", "\\n"))


class SpecError(DrawbacksError, ValueError):
    """A study spec is malformed: the message names the key path and what is allowed."""


class DataError(DrawbacksError, ValueError):
    """A data set is missing, damaged or does not fit what the spec declares."""


class RunFolderError(DrawbacksError):
    """A run folder cannot be used as asked (exists without --resume, locked, damaged file)."""


class ClusterError(DrawbacksError):
    """The Ray cluster cannot run what the spec asks for (too few CPUs/GPUs, unreachable)."""

"""Everything a block writes to file descriptors 1 and 2 (Python prints, Ray's and Tune's output alike)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Iterator


@contextlib.contextmanager
def captured_terminal() -> Iterator[list[str]]:
    """Yields a list that holds the captured text once the block has ended."""
    text: list[str] = []
    with tempfile.TemporaryFile(mode="w+b") as sink:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        old_streams = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = os.fdopen(os.dup(1), "w", buffering=1)
        try:
            yield text
        finally:
            sys.stdout.flush()
            sys.stdout.close()
            sys.stdout, sys.stderr = old_streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            text.append(sink.read().decode("utf-8", "replace"))

"""The run folder's driver log: what `run` prints (stdout and stderr) and the ``dl_drawbacks`` loggers,
appended by every run and resume of the folder, so an ephemeral RayJob's driver output outlives its pod."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from pathlib import Path
from typing import IO, Iterator

from .storage.run_folder import DRIVER_LOG, LocalRunFolder


class Tee:
    """A text stream that writes to the terminal stream and the log file."""

    def __init__(self, stream: IO[str], log: IO[str]) -> None:
        self.stream, self.log = stream, log

    def write(self, text: str) -> int:
        self.log.write(text)
        self.log.flush()
        return self.stream.write(text)

    def flush(self) -> None:
        self.log.flush()
        self.stream.flush()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


@contextlib.contextmanager
def driver_log(run_dir: Path) -> Iterator[Path]:
    """Copy stdout, stderr and the ``dl_drawbacks`` loggers (INFO and up) into the run folder's driver log
    (opened without following a link: a link there is refused in one line)."""
    folder = LocalRunFolder(run_dir)
    path = folder.path(DRIVER_LOG)
    with folder.open_append(DRIVER_LOG) as log:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        log.write(f"--- dl-drawbacks {' '.join(sys.argv[1:])} at {when}\n")
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("dl_drawbacks")
        level = logger.level
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = Tee(out, log), Tee(err, log)
        try:
            yield path
        except BaseException as exc:  # the one line the CLI prints for it, so the log says how the run ended
            log.write(f"error: {type(exc).__name__}: {exc}\n")
            raise
        finally:
            sys.stdout, sys.stderr = out, err
            logger.removeHandler(handler)
            logger.setLevel(level)

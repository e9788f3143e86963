"""Adapter for a race in Ray Tune 2.60's experiment-state upload (no upstream issue found; code path
``ray/tune/execution/experiment_state.py`` ``wait_for_sync`` → ``ray/train/_internal/storage.py``
``_pyarrow_fs_copy_files``): the driver copies its staging folder to ``storage_path`` in the background while the next
save writes ``.tmp-…-state-….json`` and renames it, so the copy can open a file that is already gone. Tune then logs
"Saving experiment state … failed" with a whole traceback (seen on Ctrl-C of a run, when saves are forced) and launches
the next upload, which copies the renamed file: nothing is lost. This filter turns exactly that record into one
warning line; any other failure of the upload keeps Tune's message and traceback."""

from __future__ import annotations

import logging

TUNE_STATE_LOGGER = "ray.tune.execution.experiment_state"
RACE_LINE = ("Ray Tune's background upload of its experiment state missed a temporary file renamed while it copied "
             "(%s); the next save uploads the state again")


class RenamedTempFileFilter(logging.Filter):
    """Rewrites Tune's failed-upload record whose cause is a vanished ``.tmp-`` file into one warning line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, FileNotFoundError) and "-tmp-" in str(exc) and "experiment state" in str(record.msg):
            record.msg, record.args = RACE_LINE, (type(exc).__name__,)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


def quiet_state_upload_race() -> None:
    """Install the filter on Tune's experiment-state logger once per process."""
    logger = logging.getLogger(TUNE_STATE_LOGGER)
    if not any(isinstance(f, RenamedTempFileFilter) for f in logger.filters):
        logger.addFilter(RenamedTempFileFilter())

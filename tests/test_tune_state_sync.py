"""The adapter for Ray Tune's experiment-state upload race (dl_drawbacks/tune_state_sync.py): Tune's own logger,
given the record it logs when the upload opened a renamed temporary file, prints one warning line and no traceback;
any other upload failure keeps its traceback."""

from __future__ import annotations

import io
import logging

from dl_drawbacks.tune_state_sync import TUNE_STATE_LOGGER, quiet_state_upload_race

MESSAGE = "Saving experiment state to storage at '/run/ray_tune/tune-compute' failed with exception: "


def _log_failure(exc: BaseException) -> str:
    logger = logging.getLogger(TUNE_STATE_LOGGER)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    try:
        quiet_state_upload_race()
        quiet_state_upload_race()  # idempotent: one filter
        try:
            raise exc
        except Exception:
            logger.error(MESSAGE, exc_info=True)  # exactly how experiment_state.wait_for_sync logs it
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_the_renamed_temp_file_race_is_one_warning_line():
    gone = FileNotFoundError(2, "Failed to open local file '/tmp/ray/session_x/artifacts/t/tune-compute/driver_artifacts/"
                                ".9ea8-tmp-basic-variant-state-2026-12-07_13-32-21.json'")
    out = _log_failure(gone)
    assert "Traceback" not in out and out.count("\n") == 1
    assert out.startswith("WARNING Ray Tune's background upload") and "uploads the state again" in out
    assert len(logging.getLogger(TUNE_STATE_LOGGER).filters) == 1


def test_any_other_upload_failure_keeps_tunes_traceback():
    for exc in (FileNotFoundError(2, "Failed to open local file '/run/trial/rows.parquet'"), PermissionError("denied")):
        out = _log_failure(exc)
        assert out.startswith("ERROR Saving experiment state") and "Traceback" in out

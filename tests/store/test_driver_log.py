"""driver.log: what the driver prints and logs lands in the run folder, appended by each run."""

from __future__ import annotations

import logging
import sys

import pytest

from dl_drawbacks.driver_log import driver_log


def test_prints_and_loggers_go_to_driver_log_and_streams_are_restored(tmp_path, capsys):
    out, err = sys.stdout, sys.stderr
    with driver_log(tmp_path) as path:
        print("to stdout")
        print("[  1/5] trial done", file=sys.stderr)
        logging.getLogger("dl_drawbacks.storage").info("pulled 3 trials")
        logging.getLogger("someone.else").warning("not ours")
    assert sys.stdout is out and sys.stderr is err
    with pytest.raises(RuntimeError):
        with driver_log(tmp_path):
            raise RuntimeError("boom")
    text = path.read_text()
    assert "to stdout" in text and "[  1/5] trial done" in text and "pulled 3 trials" in text
    assert "not ours" not in text
    assert text.count("--- dl-drawbacks") == 2 and "error: RuntimeError: boom" in text  # appended, with its end
    assert "to stdout" in capsys.readouterr().out  # still printed

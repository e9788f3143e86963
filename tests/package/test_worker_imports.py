"""What a Ray worker imports to run a trial (the Tune trial function and every built-in study kind) does not
pull in matplotlib: figures are drawn on the driver only."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import dl_drawbacks.trial
from dl_drawbacks.studies.base import get_kind
from dl_drawbacks.registry import STUDIES
get_kind("compute")  # discovers every built-in kind
for name in list(STUDIES):
    get_kind(name)
assert len(list(STUDIES)) >= 6
print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib')[:3])
"""


def test_a_worker_never_imports_matplotlib():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "[]", out.stdout

"""`compare`: B − A per shared headline with an unpaired interval from the two runs' intervals."""

from __future__ import annotations

import math

from dl_drawbacks.commands.compare import difference


def test_difference_of_two_independent_intervals():
    d, low, high = difference({"value": 1.0, "interval": [0.0, 2.0]}, {"value": 4.0, "interval": [3.0, 5.0]})
    assert d == 3.0 and math.isclose(high - d, math.sqrt(2)) and math.isclose(d - low, math.sqrt(2))
    assert difference({"value": 1.0, "interval": None}, {"value": 2.0, "interval": [1.0, 3.0]}) == (1.0, None, None)
    assert difference({"value": None}, {"value": 2.0}) == (None, None, None)

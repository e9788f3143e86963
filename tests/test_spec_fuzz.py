"""Property-based: any YAML text or mutated spec either loads or raises the one-line SpecError."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dl_drawbacks.errors import SpecError
from dl_drawbacks.plan import checked_spec, load_checked

STUDIES = Path(__file__).resolve().parents[1] / "studies"
BASE = yaml.safe_load((STUDIES / "compute.yaml").read_text())

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(BASE) if p]


def _check(doc) -> None:
    try:
        checked_spec(doc, source="fuzz.yaml")
    except SpecError as err:
        assert "\n" not in str(err) and str(err).startswith("fuzz.yaml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=values)
def test_replacing_any_value_loads_or_raises_spec_error(path, value):
    doc = copy.deepcopy(BASE)
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    _check(doc)


@settings(max_examples=100, deadline=None)
@given(path=st.sampled_from(PATHS), key=st.text(min_size=1, max_size=10))
def test_deleting_or_adding_keys_loads_or_raises_spec_error(path, key):
    doc = copy.deepcopy(BASE)
    node = doc
    for part in path[:-1]:
        node = node[part]
    if isinstance(node, dict):
        node.pop(path[-1], None)
        node[key] = 1
    _check(doc)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200))
def test_random_text_loads_or_raises_spec_error(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "s.yaml"
    path.write_text(text)
    try:
        load_checked(path)
    except SpecError as err:
        assert "\n" not in str(err)

"""pytest plug-in: every test that uses the session's Ray cluster (marked ``ray``, or using ``ray_cluster``) runs in one
pytest-xdist worker under ``--dist loadgroup``, so a run has one local Ray cluster however many workers it has. A test
marked ``own_ray`` as well starts its own cluster in its own processes (a `ray start` head, a multi-node ``Cluster``)
and never touches the session's: it is left ungrouped, to run beside them on the other worker.

Adapter for pytest-dev/pytest-xdist#1386 (open; fix proposed in #1388): xdist 3.8 tells the scheduler a test's group
by appending ``@<group>`` to the legacy ``item._nodeid``, which pytest 9.2 no longer reads (node ids are structured,
``item._id``), so groups are silently ignored and grouped tests go round-robin. After xdist's own hook, this one
writes the suffix into the structured id too; with an xdist or pytest where the suffix is already there it changes
nothing."""

from __future__ import annotations

import pytest

GROUP = "ray"


def uses_ray(item: pytest.Item) -> bool:
    """Whether the test uses the session's local Ray cluster."""
    if "ray_cluster" in getattr(item, "fixturenames", ()):
        return True
    return item.get_closest_marker("ray") is not None and item.get_closest_marker("own_ray") is None


def pytest_itemcollected(item: pytest.Item) -> None:
    if uses_ray(item):
        item.add_marker(pytest.mark.xdist_group(GROUP))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers under --dist loadgroup
        return
    from _pytest.nodeid import coerce_node_id

    for item in items:
        if uses_ray(item) and not item.nodeid.endswith(f"@{GROUP}") and hasattr(item, "_id"):
            item._id = coerce_node_id(f"{item.nodeid}@{GROUP}")

"""The default run is split over two pytest-xdist workers with one local Ray cluster: every test that uses Ray is in
the ``ray`` group (tests/support/xdist_ray_group.py), whose node ids carry the ``@ray`` suffix ``--dist loadgroup``
schedules on (the adapter for pytest-dev/pytest-xdist#1386: without it pytest 9.2 drops the suffix and Ray tests go
round-robin, one cluster per worker)."""

from __future__ import annotations

import os

import pytest


def _group(item) -> set[str]:
    return {m.args[0] if m.args else m.kwargs.get("name") for m in item.iter_markers("xdist_group")}


def test_every_test_that_uses_ray_is_in_the_ray_group_and_no_other(request):
    from xdist_ray_group import uses_ray

    items = request.session.items
    ray_items = [i for i in items if uses_ray(i)]
    if not ray_items:
        pytest.skip("no test that uses Ray was collected with this one (run it with the suite)")
    assert all(_group(i) == {"ray"} for i in ray_items)
    assert all(not _group(i) for i in items if not uses_ray(i))
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the id the scheduler groups by
        assert all(i.nodeid.endswith("@ray") for i in ray_items)
        assert not any("@" in i.nodeid for i in items if not uses_ray(i))
    assert "--dist loadgroup" in " ".join(request.config.getini("addopts"))


def test_tests_with_their_own_cluster_run_beside_the_session_clusters_group(request):
    """The job server's `ray start` head and the multi-node ``Cluster`` run in their own processes: marked
    ``own_ray``, they stay out of the group (the Ray worker is the run's critical path), unless they ask for the
    session's ``ray_cluster``."""
    from xdist_ray_group import uses_ray

    own = [i for i in request.session.items if i.get_closest_marker("own_ray")]
    if not own:
        pytest.skip("no test with its own Ray cluster was collected with this one (run it with the suite)")
    assert all(i.get_closest_marker("ray") for i in own)  # still selected by -m ray
    assert all(uses_ray(i) == ("ray_cluster" in i.fixturenames) for i in own)
    assert {i.path.name for i in own if not uses_ray(i)} >= {"test_job_server.py", "test_multinode.py"}

"""The test run is split over two pytest-xdist workers with one local Ray cluster: every test that uses Ray is in the
``ray`` group (tests/conftest.py), which ``--dist loadgroup`` sends to a single worker."""

from __future__ import annotations


def _group(item) -> set[str]:
    return {m.args[0] if m.args else m.kwargs.get("name") for m in item.iter_markers("xdist_group")}


def test_every_test_that_uses_ray_is_in_the_ray_group_and_no_other(request):
    items = request.session.items
    uses_ray = [i for i in items if i.get_closest_marker("ray") or "ray_cluster" in i.fixturenames]
    assert uses_ray, "no Ray test collected: the check would pass on nothing"
    assert all(_group(i) == {"ray"} for i in uses_ray)
    assert all(not _group(i) for i in items if i not in uses_ray)
    assert "loadgroup" in request.config.getini("addopts") and "-n" in request.config.getini("addopts")

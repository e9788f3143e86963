"""A team's own plug-in package, outside dl_drawbacks: a model family and a dataset (used by tests/test_plugins.py)."""

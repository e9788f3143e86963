"""The hparams study: everything only it uses (kind, analysis, figures, report)."""

from . import kind  # noqa: F401  (registers the study kind)

"""The bias study: everything only it uses (kind, audit mode, analysis, figures, report)."""

from . import audit, kind  # noqa: F401  (register the bias and bias_audit study kinds)

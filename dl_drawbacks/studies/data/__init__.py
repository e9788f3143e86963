"""The data study: everything only it uses (kind, analysis, figures, report)."""

from . import kind, lcdb_kind  # noqa: F401  (register the data and lcdb study kinds)

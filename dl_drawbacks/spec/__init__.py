"""Study specs: YAML → frozen pydantic models (``plan`` turns them into trials)."""

from .load import load_spec, parse_spec
from .models import StudySpec, SuiteSpec, TrialSpec

__all__ = ["load_spec", "parse_spec", "StudySpec", "SuiteSpec", "TrialSpec"]

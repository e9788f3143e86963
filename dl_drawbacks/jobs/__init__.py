"""Submitting studies to a Ray cluster's job server: `dl-drawbacks job submit|list|status|logs|stop`."""

from .client import auth_headers, connect, follow, wait
from .submission import Submission, SubmitError, build_submission

__all__ = ["Submission", "SubmitError", "auth_headers", "build_submission", "connect", "follow", "wait"]

"""Run folders on object storage: the bucket (``bucket``), copies to and from local folders (``sync``) and
the lock (``lock``). A local ``--out`` never touches this package."""

from .bucket import Bucket, is_uri, open_bucket, remote_is_finished
from .lock import BucketLock
from .sync import StagedRun, checkpoint_root, remove_checkpoints, staging_folder, trial_mirror

__all__ = ["Bucket", "BucketLock", "StagedRun", "checkpoint_root", "is_uri", "open_bucket", "remote_is_finished",
           "remove_checkpoints", "staging_folder", "trial_mirror"]

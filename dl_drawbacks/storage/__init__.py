"""Run folders: the layout and the one marker rule (``run_folder``), atomic local file writes (``files``), and, for
object storage, the bucket (``bucket``), copies to and from local folders (``sync``) and the lock (``lock``)."""

from .bucket import Bucket, is_uri, open_bucket
from .lock import BucketLock
from .run_folder import BucketRunFolder, LocalRunFolder, Marker, RunFolder, RunLock, open_run_folder
from .sync import StagedRun, checkpoint_root, remove_checkpoints, staging_folder, trial_mirror

__all__ = ["Bucket", "BucketLock", "BucketRunFolder", "LocalRunFolder", "Marker", "RunFolder", "RunLock", "StagedRun",
           "checkpoint_root", "is_uri", "open_bucket", "open_run_folder", "remove_checkpoints", "staging_folder",
           "trial_mirror"]

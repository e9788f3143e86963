"""Saving report figures: matplotlib without a display, PNGs into the run folder's figures/, written to a
temporary name and renamed into place (a reader never sees half a figure), with the umask's mode."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_figure(fig, path: Path) -> Path:
    from ..storage.files import temp_file

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file(path.parent, path.name)
    try:
        fig.tight_layout()
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, dpi=110, format=path.suffix.lstrip(".") or "png")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return path

"""Decoding one encoded image (PNG, JPEG, …) with PIL, shared by the folder and the parquet forms of image_folder."""

from __future__ import annotations

import io
from typing import Any


def decoded_shape(data: bytes, mode: str) -> tuple[int, ...] | None:
    """The decoded shape (C, H, W) of encoded image bytes in PIL ``mode``, or None when they do not decode."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError):
        return None
    return (3 if mode == "RGB" else 1, image.height, image.width)


def image_bytes(cell: Any) -> bytes:
    """The encoded image of a parquet cell: binary, or a Hugging Face ``Image`` feature's struct ``{bytes, path}``."""
    return cell["bytes"] if isinstance(cell, dict) else cell

"""Built-in domains: how a model's samples at an eval step are drawn as a picture."""

from __future__ import annotations

import io

from PIL import Image


def png_bytes(picture: Image.Image) -> bytes:
    """The picture encoded as a PNG file."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()

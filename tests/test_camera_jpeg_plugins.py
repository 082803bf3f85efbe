"""A still is encoded with Pillow's JPEG plugin alone: the other preinit plugins cost about 2 MB resident."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from camera.backends.base import encode_jpeg
from PIL import Image


@pytest.mark.slow
def test_taking_photos_imports_no_image_plugin_but_jpeg() -> None:
    """Fails if a Pillow upgrade makes saving to a .jpg-named buffer run `Image.preinit()` again."""
    program = (
        "import sys, camera.__main__\n"
        "from camera.backends.base import StillSettings\n"
        "from camera.registry import create_camera\n"
        "create_camera({}).capture_still(StillSettings(320, 240))\n"
        "print(sorted(name for name in sys.modules if name.endswith('ImagePlugin')))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "['PIL.JpegImagePlugin']"


@pytest.mark.parametrize("quality", [20, 85, 95])
def test_the_jpeg_is_byte_for_byte_what_format_jpeg_gives(quality: int) -> None:
    frame = Image.linear_gradient("L").convert("RGB").resize((320, 240))
    expected = io.BytesIO()
    frame.save(expected, "JPEG", quality=quality)
    assert encode_jpeg(frame, quality) == expected.getvalue()

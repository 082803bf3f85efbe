"""H.264 in MP4 through the ffmpeg that the `imageio-ffmpeg` wheel ships.

OpenCV's pip wheel has no H.264 encoder (its `avc1` fourcc silently fails), and
a system ffmpeg is not on every laptop; imageio-ffmpeg bundles a static ffmpeg
with libx264 for x86-64 and ARM. Frames are piped raw to it, so memory stays at
one frame however long the clip. The file appears under its final name only when
ffmpeg has finished it, so a crash never leaves a half-written MP4 behind. A
finished clip is checked by the same ffmpeg (no OpenCV, whose import alone costs
30 MB of the module's memory).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from types import TracebackType

import imageio_ffmpeg
from PIL import Image


class EncoderError(RuntimeError):
    """ffmpeg refused the input or failed; the message carries its last words."""


def _ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial.mp4")


class H264Writer:
    """Context manager: `write()` RGB images of one size; on exit the MP4 is complete at `path`."""

    def __init__(self, path: Path, width: int, height: int, fps: int) -> None:
        self.path = path
        self.size = (width, height)
        self.frames = 0
        command = [
            _ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
            "-an", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", str(_partial(path)),
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, frame: Image.Image) -> None:
        if frame.size != self.size or frame.mode != "RGB":
            raise EncoderError(
                f"frame is {frame.mode} {frame.width}x{frame.height}, the clip is RGB {self.size[0]}x{self.size[1]}"
            )
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(frame.tobytes())
        except BrokenPipeError as e:
            raise EncoderError(self._failure()) from e
        self.frames += 1

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if kind is not None:
            self._process.kill()
            self._process.wait()
            _partial(self.path).unlink(missing_ok=True)
            return
        _, stderr = self._process.communicate()
        if self._process.returncode != 0:
            _partial(self.path).unlink(missing_ok=True)
            raise EncoderError(f"ffmpeg exited {self._process.returncode}: {stderr.decode(errors='replace')[-400:]}")
        _partial(self.path).replace(self.path)

    def _failure(self) -> str:
        self._process.kill()
        _, stderr = self._process.communicate()
        return f"ffmpeg stopped: {stderr.decode(errors='replace')[-400:]}"


def remux_h264(source: Path, path: Path, fps: int) -> Path:
    """Wrap a raw H.264 elementary stream (what the Pi's hardware encoder writes) in MP4 without re-encoding."""
    command = [
        _ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-r", str(fps), "-f", "h264", "-i", str(source),
        "-c:v", "copy", "-movflags", "+faststart", str(_partial(path)),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        _partial(path).unlink(missing_ok=True)
        raise EncoderError(f"ffmpeg remux exited {done.returncode}: {done.stderr.decode(errors='replace')[-400:]}")
    _partial(path).replace(path)
    return path


def probe_mp4(path: Path) -> tuple[int, int, int]:
    """(width, height, frames) of a finished clip, read back by ffmpeg: proof the file is a playable MP4.

    The video stream is copied to nowhere (no decoding), so ffmpeg reads every packet of the container
    and reports the stream's size and the frames it passed on.
    """
    command = [_ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"]
    done = subprocess.run(command, capture_output=True, check=False)
    report = done.stderr.decode(errors="replace")
    size = re.search(r"Stream #0:\d+\S*: Video: .*?, (\d+)x(\d+)", report)
    frames = re.findall(r"frame=\s*(\d+)", report)
    if done.returncode != 0 or size is None or not frames:
        raise EncoderError(f"{path.name} does not open as a video: {report[-400:]}")
    return int(size[1]), int(size[2]), int(frames[-1])

"""Camera backends: the synthetic scene, files, OpenCV, and the Pi backends against stand-ins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from camera.backends.arrays import image_from_bgr
from camera.backends.base import CameraError, ClipSettings, StillSettings
from camera.backends.files import FilesCamera
from camera.backends.opencv import OpenCVCamera
from camera.backends.synthetic import PERSON_COLOR, PERSON_CYCLE_S, SyntheticCamera, SyntheticScene
from camera.encoder import H264Writer, probe_mp4
from camera.registry import create_camera
from PIL import Image

from edgekit import MissingBackendError
from tests.fixtures.camera_pi_standins import StandInPiCamera, StandInPicamera2, pattern

T0 = 1_700_000_000.0 - (1_700_000_000.0 % PERSON_CYCLE_S)  # the start of a person cycle
FACES = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def pixels(frame: Image.Image) -> np.ndarray:
    """A camera frame (RGB Pillow image) as the height x width x 3 array the assertions use."""
    assert frame.mode == "RGB"
    return np.asarray(frame)


def faces_in(frame: Image.Image) -> int:
    """Faces OpenCV's Haar cascade finds in a camera frame (Pillow's grey is the same BT.601 luma as OpenCV's)."""
    return len(FACES.detectMultiScale(np.asarray(frame.convert("L")), 1.1, 5))


def test_synthetic_scene_is_a_function_of_seed_and_time() -> None:
    a, b, other = SyntheticScene(7), SyntheticScene(7), SyntheticScene(8)
    assert np.array_equal(pixels(a.render(T0 + 3.5, 640, 480)), pixels(b.render(T0 + 3.5, 640, 480)))
    assert not np.array_equal(pixels(a.render(T0 + 3.5, 640, 480)), pixels(other.render(T0 + 3.5, 640, 480)))
    assert not np.array_equal(pixels(a.render(T0 + 3.5, 640, 480)), pixels(a.render(T0 + 4.5, 640, 480)))


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (640, 480), (320, 240), (480, 640)])
@pytest.mark.parametrize("t", [0.0, 7.3, 19.9, 33.0])
def test_synthetic_face_is_found_by_the_haar_frontal_face_cascade(width: int, height: int, t: float) -> None:
    assert faces_in(SyntheticScene(1).render(T0 + t, width, height)) == 1


def test_a_person_walks_through_part_of_each_cycle() -> None:
    scene = SyntheticScene(1)
    dark = PERSON_COLOR
    with_person = pixels(scene.render(T0 + 6.0, 640, 480))
    without = pixels(scene.render(T0 + PERSON_CYCLE_S - 1.0, 640, 480))
    assert np.all(with_person == dark, axis=2).sum() > 2000
    assert np.all(without == dark, axis=2).sum() == 0


@pytest.mark.parametrize(
    ("rotation", "size"), [(0, (640, 360)), (90, (360, 640)), (180, (640, 360)), (270, (360, 640))]
)
def test_still_has_the_requested_size_after_rotation(rotation: int, size: tuple[int, int]) -> None:
    still = SyntheticCamera(seed=2).capture_still(StillSettings(*size, quality=80, rotation=rotation))
    image = decode(still.jpeg)
    assert (image.shape[1], image.shape[0]) == size == (still.width, still.height)


@pytest.fixture
def picture_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "pictures"
    folder.mkdir()
    cv2.imwrite(str(folder / "b.png"), pattern(320, 240))
    SyntheticScene(3).render(T0, 320, 240).save(folder / "a.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_files_camera_cycles_in_name_order(picture_folder: Path) -> None:
    camera = FilesCamera(str(picture_folder))
    frames = [camera.frame(320, 240) for _ in range(3)]
    assert faces_in(frames[0]) == 1  # a.png, the scene
    assert frames[1].getpixel((10, 120)) == (40, 40, 40)  # b.png, the pattern
    assert np.array_equal(pixels(frames[0]), pixels(frames[2]))


def test_flips_mirror_the_image(picture_folder: Path) -> None:
    (picture_folder / "a.png").unlink()
    camera = FilesCamera(str(picture_folder))
    plain = decode(camera.capture_still(StillSettings(320, 240, quality=95)).jpeg)
    mirrored = decode(camera.capture_still(StillSettings(320, 240, quality=95, hflip=True)).jpeg)
    upside = decode(camera.capture_still(StillSettings(320, 240, quality=95, rotation=180, vflip=True)).jpeg)
    assert plain[:, 10].mean() < 60 < 200 < mirrored[:, 10].mean()
    assert np.abs(upside.astype(int) - mirrored.astype(int)).mean() < 2  # 180 + vflip == hflip


def test_files_camera_turns_a_photo_upright_by_its_exif_orientation(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was turned; show the stored image rotated 90 degrees clockwise
    Image.fromarray(pattern(320, 240)).save(tmp_path / "turned.jpg", exif=exif)
    frame = FilesCamera(str(tmp_path)).frame(240, 320)
    assert frame.getpixel((120, 10))[0] < 60 < 200 < frame.getpixel((120, 310))[0]  # dark half on top now


def test_device_arrays_in_bgr_order_become_rgb_images() -> None:
    bgr = np.zeros((2, 3, 4), np.uint8)  # picamera2's XBGR8888: a 4th byte the image drops
    bgr[..., 0], bgr[..., 1], bgr[..., 2], bgr[..., 3] = 10, 20, 30, 255
    image = image_from_bgr(bgr)
    assert (image.mode, image.size, image.getpixel((2, 1))) == ("RGB", (3, 2), (30, 20, 10))


@pytest.mark.slow
def test_default_backend_takes_photos_without_numpy_or_opencv() -> None:
    """Importing them costs the module about 30 MB; only the opencv and Pi backends may load them."""
    program = (
        "import sys, camera.__main__\n"
        "from camera.backends.base import StillSettings\n"
        "from camera.registry import create_camera\n"
        "create_camera({}).capture_still(StillSettings(320, 240))\n"
        "print(sorted({'cv2', 'numpy', 'flask'} & sys.modules.keys()))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_higher_quality_gives_a_bigger_jpeg() -> None:
    camera = SyntheticCamera(seed=4)
    sizes = [len(camera.capture_still(StillSettings(640, 480, quality=q)).jpeg) for q in (20, 95)]
    assert sizes[0] < sizes[1]


def test_files_camera_without_images_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match=str(tmp_path)):
        FilesCamera(str(tmp_path)).open()


def test_recording_gives_an_mp4_that_opencv_plays(tmp_path: Path) -> None:
    path = SyntheticCamera(seed=5).record(tmp_path / "clip.mp4", ClipSettings(320, 240, fps=10, duration_s=1))
    assert probe_mp4(path) == (320, 240, 10)
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no partial file left behind


def test_opencv_camera_reads_a_video_file_and_loops(tmp_path: Path) -> None:
    clip = tmp_path / "in.mp4"
    with H264Writer(clip, 160, 120, 5) as writer:
        for value in (10, 200):
            writer.write(Image.new("RGB", (160, 120), (value, value, value)))
    camera = OpenCVCamera(str(clip))
    levels = [pixels(camera.frame(80, 60)).mean() for _ in range(3)]
    camera.close()
    assert levels[0] < 50 and levels[1] > 150 and levels[2] < 50


def test_opencv_camera_that_cannot_open_says_which_source(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match=r"nothing\.mp4"):
        OpenCVCamera(str(tmp_path / "nothing.mp4")).open()


def test_registry_defaults_to_synthetic_and_checks_its_inputs(tmp_path: Path) -> None:
    assert create_camera({}).name == "synthetic"
    with pytest.raises(ValueError, match="CAMERA_SEED"):
        create_camera({"CAMERA_SEED": "abc"})
    with pytest.raises(ValueError, match="CAMERA_SOURCE"):
        create_camera({"CAMERA_BACKEND": "files"})
    with pytest.raises(ValueError, match="choose one of files, opencv, picamera, picamera2, synthetic"):
        create_camera({"CAMERA_BACKEND": "webcam"})
    assert create_camera({"CAMERA_BACKEND": "files", "CAMERA_SOURCE": str(tmp_path)}).name == "files"


@pytest.mark.parametrize(("backend", "package"), [("picamera2", "python3-picamera2"), ("picamera", "picamera 1.13")])
def test_missing_pi_library_names_backend_and_package(
    backend: str, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, backend, None)  # import fails as it does off a Pi
    monkeypatch.delitem(sys.modules, f"camera.backends.{backend}", raising=False)
    with pytest.raises(MissingBackendError, match=rf"'{backend}' needs .*{package}"):
        create_camera({"CAMERA_BACKEND": backend})


def test_picamera2_configures_once_and_keeps_the_camera_open(
    picamera2_standin: type[StandInPicamera2], tmp_path: Path
) -> None:
    camera = create_camera({"CAMERA_BACKEND": "picamera2"})
    stills = [camera.capture_still(StillSettings(640, 360, quality=90, hflip=True)) for _ in range(3)]
    clip = camera.record(tmp_path / "clip.mp4", ClipSettings(1920, 1080, fps=30, duration_s=0.1))
    camera.close()
    (device,) = picamera2_standin.instances
    assert device.calls == [
        "configure",
        "start",
        *["capture_array"] * 3,
        "start_encoder",
        "stop_encoder",
        "stop",
        "close",
    ]
    assert device.config is not None and device.config["main"] == {"size": (1920, 1080), "format": "RGB888"}
    image = decode(stills[0].jpeg)
    assert image.shape == (360, 640, 3) and image[:, 10].mean() > 200  # flipped: the bright half is now left
    assert probe_mp4(clip) == (1920, 1080, 30)


def test_picamera_captures_from_the_video_port_into_a_padded_buffer(
    picamera_standin: type[StandInPiCamera], tmp_path: Path
) -> None:
    camera = create_camera({"CAMERA_BACKEND": "picamera"})
    still = camera.capture_still(StillSettings(100, 75, quality=90))
    clip = camera.record(tmp_path / "clip.mp4", ClipSettings(640, 480, fps=30, duration_s=0.1))
    camera.close()
    (device,) = picamera_standin.instances
    assert device.closed and device.recording is None
    image = decode(still.jpeg)
    assert image.shape == (75, 100, 3)
    assert probe_mp4(clip) == (640, 480, 30)

"""On-device analysis with OpenCV: faces, people, colours, quality and motion.

Everything ships inside the `opencv-python-headless<5` wheel (the Haar cascade
files and the HOG people detector's coefficients), so it works offline and on a
Pi. Detection runs on shrunken copies: the Haar cascade's 24x24 window only has
to see faces of `face_min_size`, so the frame is shrunk until such a face is 24
pixels wide, and HOG wants standing figures, which survive 320 pixels of width.
Each stage is timed; the timings travel in the result and the benchmark.
"""

from __future__ import annotations

import math
import threading

import cv2
import numpy as np

from vision.analyzers.base import Analyzer, AnalyzerConfig, timed
from vision.analyzers.color import dominant_colors
from vision.imaging import decode, measure_quality, shrink_to_width
from vision.result import Box, DetectedObject, Findings, PhotoRef, Quality, Tag

_CASCADE = "haarcascade_frontalface_default.xml"
_HAAR_WINDOW = 24
_PEOPLE_WIDTH = 320
_MOTION_SIZE = (160, 120)
_MOTION_DELTA = 25  # grey levels a pixel must change by to count as moving
_DARK = 0.2
_BLURRY = 100.0
_FACE_CONFIDENCE = 0.9  # a Haar cascade gives no calibrated score; a face it keeps passed every stage


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class LocalAnalyzer(Analyzer):
    name = "local"

    def __init__(self, config: AnalyzerConfig | None = None) -> None:
        self.config = config or AnalyzerConfig()
        self._faces = cv2.CascadeClassifier(cv2.data.haarcascades + _CASCADE)
        if self._faces.empty():
            raise RuntimeError(f"OpenCV ships no {_CASCADE}: install opencv-python-headless<5")
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self._previous: np.ndarray | None = None
        self._motion_lock = threading.Lock()

    def analyze(self, data: bytes, photo: PhotoRef) -> Findings:
        stages: dict[str, float] = {}
        image = timed(stages, "decode", lambda: decode(data))
        return self._findings(image, stages)

    def _findings(self, image: np.ndarray, stages: dict[str, float]) -> Findings:
        features = self.config.features
        height, width = image.shape[:2]
        gray = timed(stages, "gray", lambda: cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        findings = Findings(backend=self.name, model_version=f"opencv-{cv2.__version__}", width=width, height=height)
        if "faces" in features:
            findings.faces = timed(stages, "faces", lambda: self.find_faces(gray))
        if "people" in features or "objects" in features:
            findings.objects = timed(stages, "people", lambda: self.find_people(image))
        if "color" in features:
            findings.color = timed(stages, "color", lambda: dominant_colors(image))
        findings.quality = timed(stages, "quality", lambda: measure_quality(gray))
        if "motion" in features:
            findings.motion = timed(stages, "motion", lambda: self._motion(gray))
        findings.people_count = max(len(findings.objects), len(findings.faces))
        if "tags" in features:
            findings.tags = timed(stages, "tags", lambda: self._tags(findings))
        findings.stages_ms = stages
        return findings

    def find_faces(self, gray: np.ndarray) -> list[Box]:
        t = self.config.thresholds
        scale = min(1.0, _HAAR_WINDOW / max(t.face_min_size, _HAAR_WINDOW))
        small, back = shrink_to_width(gray, max(_HAAR_WINDOW, round(gray.shape[1] * scale)))
        small = cv2.equalizeHist(small)
        found = self._faces.detectMultiScale(
            small, scaleFactor=1.15, minNeighbors=t.face_min_neighbors, minSize=(_HAAR_WINDOW, _HAAR_WINDOW)
        )
        return [Box(*(round(v * back) for v in f)) for f in found]

    def find_people(self, image: np.ndarray) -> list[DetectedObject]:
        small, back = shrink_to_width(image, _PEOPLE_WIDTH)
        if min(small.shape[:2]) < 128:
            return []
        found, weights = self._hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.1)
        people = []
        for rect, weight in zip(found, np.ravel(weights), strict=True):
            confidence = round(_logistic(float(weight)), 4)
            if confidence >= self.config.thresholds.person_threshold:
                people.append(DetectedObject("person", confidence, Box(*(round(v * back) for v in rect))))
        return people

    def _motion(self, gray: np.ndarray) -> float | None:
        """Fraction of pixels that changed since the previous photo (None for the first)."""
        thumb = cv2.GaussianBlur(cv2.resize(gray, _MOTION_SIZE, interpolation=cv2.INTER_AREA), (5, 5), 0)
        with self._motion_lock:
            previous, self._previous = self._previous, thumb
        if previous is None:
            return None
        return round(float(np.count_nonzero(cv2.absdiff(previous, thumb) > _MOTION_DELTA)) / thumb.size, 4)

    def _tags(self, f: Findings) -> list[Tag]:
        """Tags from what was measured, so local results can be filtered like cloud ones."""
        tags: list[Tag] = []
        if f.people_count:
            tags.append(Tag("person", max([o.confidence for o in f.objects] + [_FACE_CONFIDENCE if f.faces else 0.0])))
        if f.faces:
            tags.append(Tag("face", _FACE_CONFIDENCE))
        if f.motion is not None and f.motion >= self.config.thresholds.motion:
            tags.append(Tag("motion", round(min(1.0, 0.5 + f.motion / (4 * self.config.thresholds.motion)), 4)))
        tags += _quality_tags(f.quality)
        if f.color is not None and f.color.is_bw:
            tags.append(Tag("black and white", 1.0))
        return [t for t in tags if t.confidence >= self.config.thresholds.min_confidence]


def _quality_tags(quality: Quality | None) -> list[Tag]:
    if quality is None:
        return []
    tags = []
    if quality.brightness < _DARK:
        tags.append(Tag("dark", round(1.0 - quality.brightness / (2 * _DARK), 4)))
    if quality.sharpness < _BLURRY:
        tags.append(Tag("blurry", round(1.0 - quality.sharpness / (2 * _BLURRY), 4)))
    return tags

"""LED matrix rendering and the display's one-animation-at-a-time rule, on the simulated board."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from sensor.boards.simulated import SimulatedBoard
from sensor.led import BLACK, LedDisplay, dimmed, font, level_from_detections, scroll_frames, status_frame, text_columns

RED = (255, 0, 0)


def lit(frame: list[tuple[int, int, int]]) -> set[tuple[int, int]]:
    return {(i % 8, i // 8) for i, p in enumerate(frame) if p != BLACK}


def test_font_glyphs_are_trimmed_and_upright() -> None:
    glyphs = font()
    assert len(glyphs) > 90
    i_glyph = glyphs["I"]
    assert 1 <= len(i_glyph) <= 3  # narrow letters keep their own width
    a_columns = glyphs["A"]
    tops = [col.index(True) for col in a_columns]
    bottoms = [7 - col[::-1].index(True) for col in a_columns]
    assert max(bottoms) > max(tops)  # drawn top-down: the legs of the A reach lower than its apex
    assert sum(col[bottoms[0]] for col in a_columns) == 2  # bottom row of an A: only the two legs


def test_scroll_starts_blank_ends_blank_and_moves_one_column_per_frame() -> None:
    frames = list(scroll_frames("Hi", RED))
    assert len(frames) == len(text_columns("Hi")) + 9
    assert lit(frames[0]) == set() and lit(frames[-1]) == set()
    for before, after in itertools.pairwise(frames):
        assert all(after[y * 8 + x] == before[y * 8 + x + 1] for y in range(8) for x in range(7))
    assert all(p in (RED, BLACK) for f in frames for p in f)


def test_unknown_characters_render_as_question_marks() -> None:
    assert text_columns("€") == text_columns("?")


def test_status_and_brightness() -> None:
    assert status_frame("alert") == [(255, 0, 0)] * 64
    assert dimmed([(255, 140, 0)], 0.5) == [(128, 70, 0)]


@pytest.mark.parametrize(
    ("body", "level"),
    [
        ({"level": "alert"}, "alert"),
        ({"detections": [{"label": "person"}]}, "warn"),
        ({"people_count": 2, "faces_count": 0, "people": [{}, {}]}, "warn"),
        ({"people_count": 0, "faces_count": 1}, "warn"),
        ({"objects": []}, "ok"),
        ({"image": "x.jpg"}, "ok"),
    ],
)
def test_level_from_detections(body: dict, level: str) -> None:
    assert level_from_detections(body) == level


@pytest.mark.parametrize(("body", "field"), [({"level": "panic"}, "level"), ([1, 2], "body")])
def test_level_from_detections_rejects_bad_bodies(body: object, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        level_from_detections(body)


def test_a_status_interrupts_a_message_and_comes_back_after_the_next_one() -> None:
    board = SimulatedBoard()

    async def scenario() -> None:
        display = LedDisplay(board)
        await display.show_status("ok")
        frames = await display.show_message("a long message that would scroll for a while", RED, 0.05)
        assert frames > 100
        await asyncio.sleep(0.2)
        await display.show_status("alert")
        await asyncio.sleep(0.2)
        assert board.get_pixels() == status_frame("alert")  # the message stopped drawing
        await display.show_message("ok", RED, 0.01)
        await asyncio.sleep(0.5)
        assert board.get_pixels() == status_frame("alert")  # the status is back after the message
        await display.clear()
        assert board.get_pixels() == [BLACK] * 64

    asyncio.run(scenario())


class FailingBoard(SimulatedBoard):
    """A matrix whose framebuffer stops answering after `working` frames."""

    def __init__(self, working: int) -> None:
        super().__init__()
        self.working = working

    def set_pixels(self, frame: list) -> None:
        if self.working == 0:
            raise OSError("framebuffer gone")
        self.working -= 1
        super().set_pixels(frame)


def test_a_matrix_that_fails_mid_message_is_logged_and_the_display_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    board = FailingBoard(working=3)

    async def scenario() -> None:
        display = LedDisplay(board)
        await display.show_message("hello", RED, 0.01)
        await asyncio.sleep(0.2)
        board.working = 1
        await display.show_status("ok")
        assert board.get_pixels() == status_frame("ok")

    asyncio.run(scenario())
    assert "scrolling message stopped: the LED matrix failed" in caplog.text

"""The spool: atomic entries, capture order across restarts, the size limit and its policy."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from camera.app import spool_dir
from camera.spool import Spool, SpoolFull


def meta(n: int) -> dict[str, object]:
    return {"blob": f"dev/{n}.jpg", "n": n}


def test_entries_come_back_in_capture_order_after_a_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path, limit_bytes=10_000)
    for n in range(5):
        spool.add(f"id{n}", bytes([n]) * 100, ".jpg", meta(n))
    spool.remove(spool.pending()[0])

    reopened = Spool(tmp_path, limit_bytes=10_000)
    assert [e.meta["n"] for e in reopened.pending()] == [1, 2, 3, 4]
    assert [e.data.read_bytes()[0] for e in reopened.pending()] == [1, 2, 3, 4]
    assert reopened.used_bytes == 400 and reopened.depth == 4
    later = reopened.add("id5", b"x", ".jpg", meta(5))
    assert later.seq == 6  # numbering continues: nothing new sorts before what was waiting


def test_order_holds_past_many_entries(tmp_path: Path) -> None:
    spool = Spool(tmp_path, limit_bytes=1_000_000)
    for n in range(120):
        spool.add(f"id{n}", b"x", ".jpg", meta(n))
    assert [e.meta["n"] for e in Spool(tmp_path, 1_000_000).pending()] == list(range(120))


def test_a_full_spool_refuses_new_photos_and_keeps_the_old(tmp_path: Path) -> None:
    spool = Spool(tmp_path, limit_bytes=250)
    spool.add("a", b"1" * 100, ".jpg", meta(1))
    spool.add("b", b"2" * 100, ".jpg", meta(2))
    with pytest.raises(SpoolFull, match="200 of 250 bytes used by 2 captures"):
        spool.add("c", b"3" * 100, ".jpg", meta(3))
    assert [e.id for e in spool.pending()] == ["a", "b"]
    assert len(list(tmp_path.glob("*"))) == 4  # two entries, nothing of the refused one
    spool.limit_bytes = 300  # the twin's spool_limit_mb applies at once
    spool.add("c", b"3" * 100, ".jpg", meta(3))
    assert not spool.has_room(1)


def test_an_accepted_clip_is_kept_even_past_the_limit(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", limit_bytes=10)
    clip = spool.scratch_dir / "clip.mp4"
    clip.write_bytes(b"v" * 100)
    entry = spool.adopt("clip", clip, meta(1))
    assert entry.data.read_bytes() == b"v" * 100 and not clip.exists()
    assert spool.used_bytes == 100 and not spool.has_room()


def test_interrupted_writes_are_cleaned_up_at_start(tmp_path: Path) -> None:
    spool = Spool(tmp_path, limit_bytes=10_000)
    kept = spool.add("kept", b"data", ".jpg", meta(1))
    (tmp_path / "000000000002-torn.jpg").write_bytes(b"no sidecar")  # crashed before the sidecar
    (tmp_path / ".000000000003-x.jpg.partial").write_bytes(b"half")  # crashed mid-write
    (tmp_path / "000000000004-lost.json").write_text(json.dumps(meta(4)))  # data gone
    (spool.scratch_dir / "cut-short.mp4").write_bytes(b"clip")

    reopened = Spool(tmp_path, limit_bytes=10_000)
    assert [e.id for e in reopened.pending()] == ["kept"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [kept.data.name, kept.sidecar.name]


def test_an_unreadable_sidecar_is_set_aside_and_the_spool_still_opens(tmp_path: Path) -> None:
    spool = Spool(tmp_path, limit_bytes=10_000)
    first = spool.add("first", b"1", ".jpg", meta(1))
    damaged = spool.add("damaged", b"2", ".jpg", meta(2))
    last = spool.add("last", b"3", ".jpg", meta(3))
    damaged.sidecar.write_bytes(b"\x00\x00{not json")
    (tmp_path / "000000000009-stray.jpg").write_bytes(b"x")
    (tmp_path / "000000000009-stray.json").write_text("[]")

    reopened = Spool(tmp_path, limit_bytes=10_000)

    assert [e.id for e in reopened.pending()] == [first.id, last.id]
    assert reopened.rejected == 2 and reopened.used_bytes == 2
    assert (tmp_path / "rejected" / damaged.data.name).read_bytes() == b"2"


def test_remove_deletes_both_files_and_frees_the_space(tmp_path: Path) -> None:
    spool = Spool(tmp_path, limit_bytes=100)
    entry = spool.add("a", b"1" * 100, ".jpg", meta(1))
    spool.remove(entry)
    assert list(tmp_path.iterdir()) == [] and spool.used_bytes == 0 and spool.has_room(100)


def test_spool_dir_comes_from_the_environment_or_a_writable_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert spool_dir({"CAMERA_SPOOL_DIR": str(tmp_path / "s")}) == tmp_path / "s"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert spool_dir({}) == tmp_path / "home" / ".central-camera" / "spool"
    (tmp_path / "not-a-dir").write_text("")
    monkeypatch.setenv("HOME", str(tmp_path / "not-a-dir"))  # like a container user without a home
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert spool_dir({}) == tmp_path / "tmp" / "central-camera" / "spool"

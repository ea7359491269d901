"""Tiny hand-made data-set tracks for the ingest tests (no generator needed), plus checks of them."""

from __future__ import annotations

import io
import os
import struct
import zipfile

from musim_spark import labels, layout
from musim_spark.midi import write_midi
from musim_spark.model import Note, Piece, Track

XML_TEXT = b'<?xml version="1.0" encoding="UTF-8"?>\n<score-partwise version="3.1"><part-list/></score-partwise>\n'


def wav_bytes(*, seconds: float = 0.05, rate: int = 44100, channels: int = 2, width: int = 2,
              extra_chunk: bool = False) -> bytes:
    """A PCM WAV with a ramp signal (header written by hand, so every field is under test control)."""
    frames = int(seconds * rate)
    data = bytes((i * 7) % 251 for i in range(frames * channels * width))
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * width, channels * width, 8 * width)
    chunks = b"fmt " + struct.pack("<I", 16) + fmt
    if extra_chunk:
        chunks += b"LIST" + struct.pack("<I", 5) + b"abcde" + b"\x00"  # odd size: padded
    chunks += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def midi_bytes(tmp_path, *, notes: int = 4, empty: bool = False) -> bytes:
    melody = tuple(Note(60 + i, 0.5 * i, 0.5 * i + 0.4, 90) for i in range(0 if empty else notes))
    chord = tuple(Note(48, 0.0, 2.0, 70) for _ in range(0 if empty else 1))
    drums = tuple(Note(36, 0.5 * i, 0.5 * i + 0.1, 100) for i in range(0 if empty else 2))
    piece = Piece((Track("Melody", melody, 0), Track("Chord", chord, 0), Track("Rhythm", drums, 0, True)), 120.0)
    path = os.path.join(str(tmp_path), f"_m{os.getpid()}_{notes}_{empty}.mid")
    write_midi(piece, path)
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


def label_obj(tid: layout.TrackId) -> dict:
    cover = tid.cover_type
    return {"data_Set": {
        "version": "1.0", "date": "2022. 11. 30",
        "songinfo": {
            "category": tid.category, "coverType": cover, "title": "노래", "composer": "a", "lyricist": "",
            "arranger": "", "adaptor": "", "singer": "b", "country": "KR", "agency": "", "publicYear": "2022",
            "album": "", "songGenre": tid.genre, "bpm": "92", "songKey": "C major", "lyricText": "가사",
            "similarityCoefficient": "" if tid.is_original else "0.85", "melodySimilarity": "",
            "rhythmSimilarity": "" if tid.is_original else "75.5", "chordSimilarity": "",
            "melodyTrack": "Melody", "rhythmTrack": "Rhythm", "chordTrack": "Chord"},
        "instrumentList": [{"instrumentName": "Vocal", "playingTime": "2.0"}],
        "melodySameSection": [], "rhythmSameSection": [], "chordSameSection": [],
        "soundFile": {"playTime": "2.0", "fileType": "wav", "authoringTool": "Cubase 2018",
                      "soundPath": layout.windows_path(tid, "wav"), "midiPath": layout.windows_path(tid, "mid")}}}


def write_track(root, track_id: str, *, audio: bool = True, midi: bytes | None = None, tmp=None,
                label: bytes | None = None, wav: bytes | None = None, xml: bytes | None = None,
                skip: tuple = ()) -> dict[str, str]:
    """Write one track under ``root``; returns ``{ext: relative path}`` of the files written."""
    tid = layout.parse_track_id(track_id)
    folder = os.path.join(str(root), *layout.track_dir(tid).split("/"))
    os.makedirs(folder, exist_ok=True)
    contents = {
        "wav": wav if wav is not None else (wav_bytes() if audio else None),
        "mid": midi if midi is not None else midi_bytes(tmp or root),
        "xml": xml if xml is not None else XML_TEXT,
        "json": label if label is not None else labels.dump_label(label_obj(tid)),
    }
    out = {}
    for ext, data in contents.items():
        if data is None or ext in skip:
            continue
        rel = layout.track_path(tid, ext)
        with open(os.path.join(str(root), *rel.split("/")), "wb") as f:
            f.write(data)
        out[ext] = rel
    return out


def zip_parts(root, out_dir, *, name: str = "set", part_size: int = 4000, extra: dict | None = None) -> list[str]:
    """Zip ``root``'s tree (plus ``extra`` {entry name: bytes}) and split it into ``name.zip.partN``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for folder, _, files in sorted(os.walk(str(root))):
            for fn in sorted(files):
                full = os.path.join(folder, fn)
                zf.write(full, os.path.relpath(full, str(root)).replace(os.sep, "/"))
        for entry, data in (extra or {}).items():
            zf.writestr(entry, data)
    blob = buf.getvalue()
    os.makedirs(str(out_dir), exist_ok=True)
    paths = []
    for i in range(0, max(len(blob), 1), part_size):
        p = os.path.join(str(out_dir), f"{name}.zip.part{i // part_size}")
        with open(p, "wb") as f:
            f.write(blob[i:i + part_size])
        paths.append(p)
    return paths


def test_fixture_label_validates():
    tid = layout.parse_track_id("Similar_Rock_00001_Cover_Rhythm_A")
    labels.validate_label(label_obj(tid))


def test_fixture_wav_is_readable_by_soundfile():
    import soundfile

    data, rate = soundfile.read(io.BytesIO(wav_bytes(extra_chunk=True)), dtype="int16")
    assert rate == 44100 and data.shape == (int(0.05 * 44100), 2)

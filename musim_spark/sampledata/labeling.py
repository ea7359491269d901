"""The label JSON of a generated track (shared/spec/dataset.md, label.schema.json).

Built as a dict in the schema's key order, validated with
:func:`musim_spark.labels.validate_label` and written with :func:`musim_spark.labels.dump_label`.
Similarity values stay empty strings (the pipeline computes them); a cover's same-sections are
the TRUE ones of its transform, in the cover's timeline (:meth:`musim_spark.sections.Section.to_label`);
an original's are empty lists.
"""

from __future__ import annotations

from ..labels import validate_label
from ..layout import TrackId, windows_path
from ..notation import pitch_class_name
from .arrangement import instrument_name
from .covers import CoverResult
from .render import TAIL_S

__all__ = ["build_label", "LABEL_VERSION", "LABEL_DATE", "AUTHORING_TOOL", "format_seconds"]

LABEL_VERSION = "1.0"
LABEL_DATE = "2022. 11. 30"
AUTHORING_TOOL = "musim-spark sample-data (FluidSynth)"
_LYRIC_WORDS = ("사랑", "그대", "오늘", "바람", "하늘", "눈물", "기억", "노래", "우리", "밤", "꿈", "길")


def format_seconds(seconds: float) -> str:
    """Seconds as the labels write them: a plain decimal string (``"183.25"``)."""
    return f"{max(0.0, float(seconds)):.2f}"


def _lyric(song_no: int) -> str:
    words = [_LYRIC_WORDS[(song_no * 7 + i * 5) % len(_LYRIC_WORDS)] for i in range(8)]
    return " ".join(words[:4]) + "\n" + " ".join(words[4:])


def build_label(tid: TrackId, result: CoverResult, *, source_song: str, source_title: str,
                key_tonic: int, key_mode: str, tempo_bpm: float) -> dict:
    """The label dict of one generated track (validated before it is returned).

    Parameters
    ----------
    tid : TrackId
    result : CoverResult
        The track's notes and truth (an original's from ``original_result``).
    source_song, source_title : str
        POP909 id and title (kept in ``album`` so a user can trace the material).
    key_tonic, key_mode : int, str
        The original's key (a transposing Genre cover shifts it).
    tempo_bpm : float
        The original's tempo; the label gives the cover's (original x tempo ratio when the
        changed share is most of the song).

    Raises
    ------
    InputError
        If the dict fails the schema (a generator bug, never expected).
    """
    n = int(tid.song_no)
    tonic = (key_tonic + result.transpose_semitones) % 12
    ratio = result.tempo_ratio if result.cover_type.startswith(("Tempo", "Genre")) else 1.0
    bpm = round(float(tempo_bpm) * ratio, 1)
    instruments = []
    for t in result.piece.tracks:
        if not t.notes:
            continue
        start = min(x.start for x in t.notes)
        instruments.append({"instrumentName": instrument_name(t.program, t.is_drum),
                            "playingTime": format_seconds(t.end_time - start)})
    cover = not tid.is_original
    label = {
        "data_Set": {
            "version": LABEL_VERSION,
            "date": LABEL_DATE,
            "songinfo": {
                "category": tid.category,
                "coverType": tid.cover_type,
                "title": f"생성곡 {tid.song_no}",
                "composer": f"작곡가 {n % 97:02d}",
                "lyricist": f"작사가 {n % 89:02d}",
                "arranger": f"편곡자 {n % 83:02d}",
                "adaptor": "샘플 생성기" if cover else "",
                "singer": f"가수 {n % 79:02d}",
                "country": "대한민국",
                "agency": "",
                "publicYear": "2022",
                "album": f"POP909 {source_song} {source_title}",
                "songGenre": tid.genre,
                "bpm": f"{bpm:g}" if bpm == int(bpm) else f"{bpm:.1f}",
                "songKey": f"{pitch_class_name(tonic)} {'major' if key_mode == 'maj' else 'minor'}",
                "lyricText": _lyric(n),
                "similarityCoefficient": "",
                "melodySimilarity": "",
                "rhythmSimilarity": "",
                "chordSimilarity": "",
                "melodyTrack": "Melody",
                "rhythmTrack": "Rhythm",
                "chordTrack": "Chord",
            },
            "instrumentList": instruments,
            "melodySameSection": [s.to_label() for s in result.melody_sections] if cover else [],
            "rhythmSameSection": [s.to_label() for s in result.rhythm_sections] if cover else [],
            "chordSameSection": [s.to_label() for s in result.chord_sections] if cover else [],
            "soundFile": {
                "playTime": format_seconds(round(result.duration + TAIL_S, 2)),  # the WAV's length
                "fileType": "wav",
                "authoringTool": AUTHORING_TOOL,
                "soundPath": windows_path(tid, "wav"),
                "midiPath": windows_path(tid, "mid"),
            },
        }
    }
    validate_label(label, path=tid.track_id + ".json")
    return label

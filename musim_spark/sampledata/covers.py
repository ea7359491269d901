"""The 20 cover transforms of the data set's table, each with its TRUE same-sections.

Every transform takes the original's arrangement (and the song it came from) and returns a
:class:`CoverResult`: the cover's Piece, the transform's parameters, and the spans of the cover
that are the same as the original, in both timelines (:class:`musim_spark.sections.Section`: own
timeline = the cover's, other = the original's; a :class:`TimeMap` maps original seconds to cover
seconds; it is the identity except for Tempo and Genre covers).

Same-section semantics (docs/sample-data.md):

* melody: the whole song for every cover type (melody pitches kept; Rhythm covers move the
  melody's off-beat onsets inside the changed share but keep its notes and their order).
* chord: the whole song (Genre covers may transpose: the same chords, key-invariantly).
* rhythm: the unchanged share for Rhythm_* and Arrangement_*; nothing for Genre_A; the whole
  song (tempo-warped where the tempo changed) for Timbre_*, Instrument_*, Tempo_*.

Rhythm_*, Arrangement_* and Genre_A covers replace the original's own groove (each original has
its own, :func:`~musim_spark.sampledata.arrangement.draw_groove`) by another one drawn for the
cover: from the same genre's pool (Rhythm, Arrangement) or the new genre's (Genre), redrawn until
its drum pattern agrees with the original's by at most :data:`MAX_GROOVE_AGREEMENT` (else the
least agreeing of 64 draws); ``params`` records the new groove and that agreement.

Examples
--------
>>> tm = TimeMap.tempo_change(10.0, 20.0, 2.0)
>>> tm(5.0), tm(15.0), tm(30.0)
(5.0, 12.5, 25.0)
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from ..layout import COVER_TYPES
from ..errors import ParameterError
from ..model import Note, Piece, Track
from ..sections import Section
from .arrangement import (GROOVE_POOLS, PROGRAMS, Groove, _grid, draw_groove, drum_steps, groove_agreement,
                          make_track, part_notes, replace_span)
from .source import SourceSong, transpose_song

__all__ = ["TimeMap", "CoverResult", "COVER_SPECS", "MAX_GROOVE_AGREEMENT", "make_cover", "original_result"]

#: cover type -> (family, number of instruments or None, (min share, max share))
COVER_SPECS = {
    "Arrangement_A": ("Arrangement", 3, (0.6, 0.7)),
    "Arrangement_B": ("Arrangement", 2, (0.7, 0.8)),
    "Arrangement_C": ("Arrangement", 2, (0.8, 1.0)),
    "Timbre_A": ("Timbre", 5, (1.0, 1.0)),
    "Timbre_B": ("Timbre", 4, (1.0, 1.0)),
    "Timbre_C": ("Timbre", 3, (1.0, 1.0)),
    "Timbre_D": ("Timbre", 2, (1.0, 1.0)),
    "Instrument_A": ("Instrument", 5, (1.0, 1.0)),
    "Instrument_B": ("Instrument", 4, (1.0, 1.0)),
    "Instrument_C": ("Instrument", 3, (1.0, 1.0)),
    "Instrument_D": ("Instrument", 2, (1.0, 1.0)),
    "Rhythm_A": ("Rhythm", None, (0.6, 0.7)),
    "Rhythm_B": ("Rhythm", None, (0.7, 0.8)),
    "Rhythm_C": ("Rhythm", None, (0.8, 0.9)),
    "Rhythm_D": ("Rhythm", None, (0.9, 1.0)),
    "Tempo_A": ("Tempo", None, (0.6, 0.7)),
    "Tempo_B": ("Tempo", None, (0.7, 0.8)),
    "Tempo_C": ("Tempo", None, (0.8, 0.9)),
    "Tempo_D": ("Tempo", None, (0.9, 1.0)),
    "Genre_A": ("Genre", None, (1.0, 1.0)),
}
assert set(COVER_SPECS) == set(COVER_TYPES)

_PITCHED = ("Melody", "SubMelody", "Chord", "Bass", "Pad")
# replacement programs for Instrument covers (a different GM family is picked from these)
_INSTRUMENT_POOL = {
    "Melody": (40, 56, 65, 66, 71, 73, 80, 11, 24),
    "SubMelody": (40, 56, 65, 71, 73, 11, 24, 26, 0),
    "Chord": (0, 4, 24, 25, 27, 16, 46, 6),
    "Bass": (42, 43, 58, 70, 32, 33, 38),
    "Pad": (48, 49, 50, 89, 90, 16, 19, 61),
}
_VOICES = (52, 53, 54)
#: a cover's new groove agrees with the original's drum pattern (:func:`groove_agreement`) at most
#: this much, so "rhythm changed" in the truth is a real change, not a re-draw of the same pattern
MAX_GROOVE_AGREEMENT = 0.5
_GROOVE_TRIES = 64  # draws before the least agreeing one is taken


@dataclasses.dataclass(frozen=True)
class TimeMap:
    """Piecewise-linear map from original seconds to cover seconds.

    ``knots_orig`` and ``knots_cover`` are increasing breakpoints (same length, starting at 0);
    after the last knot the map continues with slope ``end_slope``. The default is the identity.
    """

    knots_orig: tuple[float, ...] = (0.0,)
    knots_cover: tuple[float, ...] = (0.0,)
    end_slope: float = 1.0

    @classmethod
    def tempo_change(cls, t0: float, t1: float, ratio: float) -> "TimeMap":
        """Tempo multiplied by ``ratio`` (cover/original) over original ``[t0, t1)``."""
        return cls((0.0, t0, t1), (0.0, t0, t0 + (t1 - t0) / ratio))

    @classmethod
    def uniform(cls, ratio: float) -> "TimeMap":
        """Tempo multiplied by ``ratio`` over the whole song."""
        return cls((0.0,), (0.0,), 1.0 / ratio)

    def __call__(self, t: float) -> float:
        xo, xc = self.knots_orig, self.knots_cover
        if t >= xo[-1]:
            return float(xc[-1] + (t - xo[-1]) * self.end_slope)
        return float(np.interp(t, xo, xc))

    def segments(self, t0: float, t1: float) -> list[tuple[float, float]]:
        """Split original ``[t0, t1)`` at the knots (each piece is mapped linearly)."""
        cuts = [t0] + [k for k in self.knots_orig if t0 < k < t1] + [t1]
        return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b - a > 1e-9]

    def sections(self, spans: Sequence[tuple[float, float]]) -> tuple[Section, ...]:
        """Sections for original-time spans, split where the tempo changes: own timeline = the
        cover's, other = the original's (ms)."""
        out = []
        for t0, t1 in spans:
            for a, b in self.segments(t0, t1):
                ca, cb = self(a), self(b)
                s = Section(int(round(ca * 1000)), int(round(cb * 1000)) - int(round(ca * 1000)),
                            int(round(a * 1000)), int(round(b * 1000)) - int(round(a * 1000)))
                if s.duration_ms > 0 and s.other_duration_ms > 0:
                    out.append(s)
        return tuple(out)


@dataclasses.dataclass(frozen=True)
class CoverResult:
    """A generated track's notes and truth.

    Attributes
    ----------
    piece : Piece
        The clean arrangement (what the audio is rendered from).
    cover_type : str
        ``Org`` or one of the 20 types.
    params : dict
        Every transform parameter (JSON-able).
    melody_sections, rhythm_sections, chord_sections : tuple of Section
        The true same-sections per facet (own timeline = the cover's, other = the original's).
    instruments_changed : tuple of str
        Track names whose notes or program differ from the original's.
    transpose_semitones : int
    tempo_ratio : float
        Cover/original tempo over the changed share (1.0 if none).
    duration : float
        Cover length in s.
    """

    piece: Piece
    cover_type: str
    params: dict
    melody_sections: tuple[Section, ...]
    rhythm_sections: tuple[Section, ...]
    chord_sections: tuple[Section, ...]
    instruments_changed: tuple[str, ...]
    transpose_semitones: int
    tempo_ratio: float
    duration: float


def original_result(piece: Piece, duration: float, genre: str) -> CoverResult:
    """The truth of an original: every section is the whole song mapped to itself."""
    whole = TimeMap().sections([(0.0, duration)])
    return CoverResult(piece, "Org", {"genre": genre}, whole, whole, whole, (), 0, 1.0, duration)


def _span(song: SourceSong, share_range, rng: np.random.Generator, duration: float):
    lo, hi = share_range
    share = float(rng.uniform(lo, hi)) if hi > lo else float(lo)
    length = share * duration
    a = float(rng.uniform(0.0, duration - length)) if duration > length else 0.0
    beats, _, _ = _grid(song)
    before = beats[beats <= a + 1e-9]
    a = float(before[-1]) if len(before) and share < 1.0 else 0.0  # start the change on a beat
    b = min(duration, a + length)
    return round(a, 6), round(b, 6)


def _unchanged(a: float, b: float, duration: float) -> list[tuple[float, float]]:
    return [(s, e) for s, e in ((0.0, a), (b, duration)) if e - s > 1e-3]


def _warp_notes(notes, fn) -> list[Note]:
    out = []
    for n in notes:
        s, e = round(fn(n.start), 6), round(fn(n.end), 6)
        if e - s > 1e-3:
            out.append(Note(n.pitch, s, e, n.velocity))
    return out


def _phase_warp(song: SourceSong, a: float, b: float, offbeat_to: float):
    """A monotonic map of time inside ``[a, b)`` that moves each beat's midpoint to ``offbeat_to``."""
    beats, lengths, _ = _grid(song)

    def fn(t: float) -> float:
        if t < a or t >= b:
            return t
        i = int(np.searchsorted(beats, t, side="right")) - 1
        if i < 0:
            return t
        # the beat that holds ``b`` is warped only up to ``b``, so no note crosses the span's end
        length = min(float(lengths[i]), b - float(beats[i]))
        frac = (t - beats[i]) / length
        if frac >= 1.0:
            return t
        new = frac * offbeat_to / 0.5 if frac < 0.5 else offbeat_to + (frac - 0.5) * (1 - offbeat_to) / 0.5
        return float(beats[i] + new * length)

    return fn


def _rhythm_notes(notes, fn, a: float, b: float) -> list[Note]:
    """Move onsets (and offsets) of notes starting in ``[a, b)``; order of notes is kept."""
    out = []
    for n in notes:
        if a <= n.start < b:
            s = round(fn(n.start), 6)
            e = round(fn(n.end) if n.end < b else n.end, 6)
            e = max(e, round(s + 0.03, 6))
            out.append(Note(n.pitch, s, e, n.velocity))
        else:
            out.append(n)
    return out


def _tracks(piece: Piece) -> dict[str, Track]:
    return {t.name: t for t in piece.tracks}


def _rebuild(original: Piece, notes: dict, programs: dict, *, tempo_bpm: float | None = None) -> Piece:
    tracks = []
    for t in original.tracks:
        tracks.append(make_track(t.name, notes.get(t.name, t.notes), programs.get(t.name, t.program)))
    return Piece(tuple(tracks), tempo_bpm or original.tempo_bpm, None)


def _changed(original: Piece, cover: Piece) -> tuple[str, ...]:
    o = _tracks(original)
    return tuple(t.name for t in cover.tracks if t.notes != o[t.name].notes or t.program != o[t.name].program)


def _other_groove(genre: str, song: SourceSong, original: Piece, rng: np.random.Generator) -> tuple[Groove, float]:
    """A groove of ``genre``'s pool whose drums differ from the original's (its Rhythm track read
    on the song's grid), and its agreement with them."""
    ref = drum_steps(_tracks(original)["Rhythm"].notes, song)
    best = None
    for _ in range(_GROOVE_TRIES):
        g = draw_groove(genre, rng)
        agree = groove_agreement(ref, drum_steps(part_notes("Rhythm", song, g), song))
        if best is None or agree < best[1]:
            best = (g, agree)
        if agree <= MAX_GROOVE_AGREEMENT:
            break
    return best[0], round(best[1], 4)


def _other_program(part: str, program: int, rng: np.random.Generator, *, same_family: bool) -> int:
    if part == "Melody" and same_family:
        return int(rng.choice([v for v in _VOICES if v != program]))
    if same_family:
        fam = program // 8 * 8
        return int(rng.choice([p for p in range(fam, fam + 8) if p != program]))
    pool = [p for p in _INSTRUMENT_POOL[part] if p // 8 != program // 8]
    return int(rng.choice(pool))


def make_cover(cover_type: str, song: SourceSong, genre: str, original: Piece, *,
               rng: np.random.Generator) -> CoverResult:
    """Make one cover of ``original`` (the arrangement of ``song`` in ``genre``).

    Parameters
    ----------
    cover_type : str
        One of the 20 types (``Rhythm_A``...).
    song : SourceSong
        The (cropped) song the original was arranged from: beats and chords for new parts.
    genre : str
        The original's genre.
    original : Piece
        The original's arrangement (:func:`~musim_spark.sampledata.arrangement.arrange`).
    rng : numpy Generator
        All random choices (seeded by the caller per track).

    Raises
    ------
    ParameterError
        For an unknown cover type.
    """
    if cover_type not in COVER_SPECS:
        raise ParameterError(f"unknown cover type {cover_type!r}; one of {sorted(COVER_SPECS)}")
    family, n_inst, share_range = COVER_SPECS[cover_type]
    duration = song.duration
    ident = TimeMap()
    whole = [(0.0, duration)]
    orig_tracks = _tracks(original)
    params: dict = {"family": family}
    transpose, ratio, tmap = 0, 1.0, ident

    if family in ("Timbre", "Instrument"):
        parts = sorted(rng.choice(_PITCHED, size=n_inst, replace=False).tolist(), key=_PITCHED.index)
        programs = {p: _other_program(p, orig_tracks[p].program, rng, same_family=family == "Timbre")
                    for p in parts}
        params.update(parts=parts, programs={p: programs[p] for p in parts},
                      original_programs={p: orig_tracks[p].program for p in parts})
        piece = _rebuild(original, {}, programs)
        rhythm_spans = whole
    elif family == "Arrangement":
        a, b = _span(song, share_range, rng, duration)
        alt, agree = _other_groove(genre, song, original, rng)
        parts = sorted(rng.choice(("SubMelody", "Chord", "Bass", "Pad", "Rhythm"), size=n_inst,
                                  replace=False).tolist(), key=("SubMelody", "Chord", "Bass", "Pad", "Rhythm").index)
        notes = {p: replace_span(orig_tracks[p].notes, part_notes(p, song, alt, rng=rng), a, b) for p in parts}
        params.update(parts=parts, span_s=[a, b], share=round((b - a) / duration, 4),
                      groove=alt.describe(), groove_agreement=agree)
        piece = _rebuild(original, notes, {})
        rhythm_spans = _unchanged(a, b, duration)
    elif family == "Rhythm":
        a, b = _span(song, share_range, rng, duration)
        offbeat_to = float(rng.choice([rng.uniform(0.62, 0.7), rng.uniform(0.3, 0.38)]))
        alt, agree = _other_groove(genre, song, original, rng)
        fn = _phase_warp(song, a, b, offbeat_to)
        notes = {p: _rhythm_notes(orig_tracks[p].notes, fn, a, b) for p in ("Melody", "SubMelody", "Chord")}
        for p in ("Bass", "Pad", "Rhythm"):
            notes[p] = replace_span(orig_tracks[p].notes, part_notes(p, song, alt, rng=rng), a, b)
        params.update(span_s=[a, b], share=round((b - a) / duration, 4), offbeat_to=round(offbeat_to, 4),
                      groove=alt.describe(), groove_agreement=agree)
        piece = _rebuild(original, notes, {})
        rhythm_spans = _unchanged(a, b, duration)
    elif family == "Tempo":
        a, b = _span(song, share_range, rng, duration)
        ratio = float(rng.choice([rng.uniform(0.8, 0.9), rng.uniform(1.1, 1.25)]))
        tmap = TimeMap.tempo_change(a, b, ratio)
        notes = {t.name: _warp_notes(t.notes, tmap) for t in original.tracks}
        params.update(span_s=[a, b], share=round((b - a) / duration, 4), tempo_ratio=round(ratio, 6))
        piece = _rebuild(original, notes, {}, tempo_bpm=original.tempo_bpm * ratio if (b - a) > duration / 2 else None)
        rhythm_spans = whole
    else:  # Genre
        new_genre = str(rng.choice([g for g in GROOVE_POOLS if g != genre]))
        transpose = int(rng.choice([0, 0, -3, -2, -1, 1, 2, 3]))
        ratio = float(rng.uniform(0.9, 1.12))
        groove, agree = _other_groove(new_genre, song, original, rng)
        moved = transpose_song(song, transpose)
        tmap = TimeMap.uniform(ratio)
        new = {
            "Melody": moved.melody.notes,
            "SubMelody": moved.bridge.notes or part_notes("SubMelody", moved, groove, rng=rng),
            "Chord": part_notes("Chord", moved, groove, rng=rng),
            "Bass": part_notes("Bass", moved, groove, rng=rng),
            "Pad": part_notes("Pad", moved, groove, rng=rng),
            "Rhythm": part_notes("Rhythm", moved, groove, rng=rng),
        }
        notes = {k: _warp_notes(v, tmap) for k, v in new.items()}
        programs = dict(PROGRAMS[new_genre])
        params.update(new_genre=new_genre, transpose_semitones=transpose, tempo_ratio=round(ratio, 6),
                      groove=groove.describe(), groove_agreement=agree)
        piece = _rebuild(original, notes, programs, tempo_bpm=original.tempo_bpm * ratio)
        rhythm_spans = []

    melody_sections = tmap.sections(whole)
    chord_sections = melody_sections
    rhythm_sections = tmap.sections(rhythm_spans)
    return CoverResult(piece, cover_type, params, melody_sections, rhythm_sections, chord_sections,
                       _changed(original, piece), transpose, round(ratio, 6), round(tmap(duration), 6))

"""Plagiarism-like cases from POP909 songs, beside the covers (issue 10).

The covers of :mod:`.covers` keep a whole song; real plagiarism cases do not. This module builds
the cases the engine must hold on, each with its truth:

* :func:`phrase_case` -- a 4-16 bar phrase of one song's melody, transposed and re-timed, inside
  an otherwise different song (true sections in both timelines);
* :func:`melody_file_case` -- a single-line melody file (one track, any track name, possibly
  mis-encoded) with transcription artefacts (:func:`transcription_artefacts`: octave and
  octave-plus-fifth partials as simultaneous notes, split notes, dropped notes, onset jitter);
* :func:`chord_groove_case` -- hard negative: a song's chords and groove with another song's
  melody, re-fitted to the chords where that is a small step;
* :func:`cliche_case` -- hard negative: two different songs that share one 1-2 bar stock motif
  (a scale run) and nothing else;
* :func:`excerpt_case` -- exact 8/16/32-bar excerpts of a song, or transposed and re-timed ones.

Every function is pure and seeded (a :class:`numpy.random.Generator` or an int seed): the same
inputs give the same notes, and :func:`midi_bytes` the same bytes. A :class:`Case` holds the query
:class:`~musim_spark.model.Piece`, the counterpart piece it is judged against and a truth record
(``kind``, ``positive``, source song, sections in both timelines, parameters);
:func:`write_cases` writes them as MIDI files with a truth CSV.

Times are seconds in each piece's own timeline; sections are integer milliseconds
``{startMilliSec, durationMilliSec, originalStartMilliSec, originalDurationMilliSec}`` (query
timeline first, as in ``_truth/truth.csv``).

Track names are stored as a MIDI reader of this stack sees them: a MIDI file has no declared text
encoding, so a name written as UTF-8 (``旋律``) or in a legacy code page (cp949 ``멜로디``) is read
back byte by byte as Latin-1 (:func:`file_track_name`). The truth keeps the intended name.

Examples
--------
>>> from musim_spark.model import Note, Track
>>> t = Track("Melody", tuple(Note(60 + i % 7, 0.5 * i, 0.5 * i + 0.4) for i in range(40)))
>>> noisy, counts = transcription_artefacts(t, 7, partial_rate=0.1, drop_rate=0.05)
>>> counts["partials"], counts["dropped"], len(noisy.notes)
(4, 2, 42)
>>> file_track_name("旋律", "utf-8")
'æ\\x97\\x8bå¾\\x8b'
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import ParameterError
from ..model import Note, Piece, Track
from .source import SourceSong

__all__ = [
    "Case",
    "ODD_MELODY_NAMES",
    "TRUTH_COLUMNS",
    "file_track_name",
    "song_piece",
    "bar_lines",
    "transcription_artefacts",
    "phrase_case",
    "melody_file_case",
    "chord_groove_case",
    "cliche_case",
    "excerpt_case",
    "midi_bytes",
    "write_cases",
]

#: (name, encoding) pairs for melody tracks: what users' files call them, in several languages,
#: written as UTF-8 or in a legacy code page (read back as Latin-1 bytes, see the module doc).
ODD_MELODY_NAMES: tuple[tuple[str, str], ...] = (
    ("Melody", "ascii"), ("旋律", "utf-8"), ("主旋律", "utf-8"), ("멜로디", "utf-8"),
    ("멜로디", "cp949"), ("旋律", "gbk"), ("メロディ", "shift_jis"), ("보컬", "utf-8"),
    ("Track 1", "ascii"), ("Voice", "ascii"), ("Soprano", "ascii"), ("Lead Vox", "ascii"),
)

#: Columns of the truth CSV written by :func:`write_cases`.
TRUTH_COLUMNS = ("case_id", "kind", "positive", "query_file", "counterpart_id", "counterpart_file",
                 "query_song", "source_song", "n_tracks", "transpose_semitones", "tempo_ratio",
                 "sections", "params")

# General MIDI programs (0-based) of the three POP909 parts: voice oohs for the sung line (as the
# generator's originals), flute for the bridge, acoustic grand for the piano.
_PROGRAMS = {"melody": 53, "bridge": 73, "piano": 0}
# Major and natural-minor scale degrees (semitones above the tonic) for the cliche scale run.
_SCALES = {"maj": (0, 2, 4, 5, 7, 9, 11, 12), "min": (0, 2, 3, 5, 7, 8, 10, 12)}
# Shortest note kept after cropping, splitting or jitter (s): shorter ones are not notes any
# MIDI editor shows, and Note refuses end <= start.
_MIN_DUR = 0.02


@dataclasses.dataclass(frozen=True)
class Case:
    """One plagiarism-like case.

    Attributes
    ----------
    case_id : str
        File-name safe id.
    query : Piece
        The suspect file.
    counterpart : Piece or None
        What it is judged against (the source song, the song whose chords it shares, the other
        cliche song); None where there is none.
    truth : dict
        JSON-able: ``case_id, kind, positive, query_song, source_song, counterpart_id,
        transpose_semitones, tempo_ratio, sections`` (list of section dicts), ``params`` (every
        drawn parameter, ``melody_track`` = the query's melody track name as stored).
    """

    case_id: str
    query: Piece
    counterpart: Piece | None
    truth: dict


# ---------------------------------------------------------------------------------------- helpers
def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer)):
        return np.random.default_rng(seed)
    raise ParameterError(f"seed must be an int or a numpy Generator, got {type(seed).__name__}")


def _check_range(name: str, lo_hi: Sequence[float], lo: float, hi: float) -> tuple[float, float]:
    a, b = (float(v) for v in lo_hi)
    if not lo <= a <= b <= hi:
        raise ParameterError(f"{name} must be an increasing pair inside [{lo}, {hi}], got {tuple(lo_hi)}")
    return a, b


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000.0))


def _section(q0: float, qdur: float, o0: float, odur: float) -> dict:
    return {"startMilliSec": _ms(q0), "durationMilliSec": _ms(qdur),
            "originalStartMilliSec": _ms(o0), "originalDurationMilliSec": _ms(odur)}


def _note(pitch: int, start: float, end: float, velocity: int) -> Note:
    start = round(max(0.0, start), 6)
    end = round(max(end, start + _MIN_DUR), 6)
    return Note(int(min(127, max(0, pitch))), start, end, int(min(127, max(1, velocity))))


def file_track_name(name: str, encoding: str = "utf-8") -> str:
    """The track name a MIDI reader here sees for ``name`` written in ``encoding``.

    MIDI text events carry bytes without an encoding; mido (under pretty_midi) decodes them as
    Latin-1, so anything but ASCII comes back as mojibake, as users' files do.

    Parameters
    ----------
    name : str
    encoding : str
        A Python codec (``utf-8``, ``cp949``, ``gbk``, ``shift_jis`` ...).

    Returns
    -------
    str
        ``name.encode(encoding).decode("latin-1")``: writing it back gives the same bytes.
    """
    try:
        return name.encode(encoding).decode("latin-1")
    except (LookupError, UnicodeEncodeError) as exc:
        raise ParameterError(f"track name {name!r} cannot be written as {encoding!r}: {exc}") from exc


def song_piece(song: SourceSong, *, melody_name: str = "Melody") -> Piece:
    """A POP909 song as a multi-track piece: melody, bridge, piano (empty parts left out).

    Parameters
    ----------
    song : SourceSong
    melody_name : str
        Name of the melody track (as stored, see :func:`file_track_name`).

    Returns
    -------
    Piece
        Times as in POP909's MIDI; ``tempo_bpm`` and ``beats`` from the song.
    """
    parts = ((melody_name, song.melody, "melody"), ("Bridge", song.bridge, "bridge"),
             ("Piano", song.piano, "piano"))
    tracks = tuple(Track(name, t.notes, _PROGRAMS[kind]) for name, t, kind in parts if t.notes)
    return Piece(tracks, float(song.tempo_bpm), np.asarray(song.beats, dtype=np.float64))


def bar_lines(song: SourceSong) -> np.ndarray:
    """Bar-line times (s) of a song: its annotated downbeats, else every 4th beat.

    Returns
    -------
    np.ndarray [shape=(n,)]
        Increasing.
    """
    beats = np.asarray(song.beats, dtype=np.float64)
    down = np.asarray(song.downbeats, dtype=bool)
    bars = beats[down] if down.shape == beats.shape and down.sum() >= 2 else beats[::4]
    return bars


def _crop(notes: Iterable[Note], t0: float, t1: float) -> list[Note]:
    """Notes with onsets in [t0, t1), ends clipped to t1 (times unchanged)."""
    out = []
    for n in notes:
        if t0 <= n.start < t1 and min(n.end, t1) - n.start >= _MIN_DUR:
            out.append(Note(n.pitch, n.start, round(min(n.end, t1), 6), n.velocity))
    return out


def _jitter(rng: np.random.Generator, n: int, jitter_ms: float) -> np.ndarray:
    """Onset shifts in s: normal with sd ``jitter_ms``, clipped at 2.5 sd (no outliers: the gross
    timing errors of a transcriber are the split/dropped notes, not the jitter)."""
    if jitter_ms <= 0 or n == 0:
        return np.zeros(n)
    sd = jitter_ms / 1000.0
    return np.clip(rng.normal(0.0, sd, n), -2.5 * sd, 2.5 * sd)


def _replace_span(notes: Sequence[Note], t0: float, t1: float, new: Sequence[Note]) -> tuple[Note, ...]:
    """``notes`` with those starting in [t0, t1) replaced by ``new``; a note sounding into t0 is
    cut at t0 (the inserted material must not sit under a held note of the host)."""
    kept = []
    for n in notes:
        if t0 <= n.start < t1:
            continue
        if n.start < t0 < n.end:
            if t0 - n.start < _MIN_DUR:
                continue
            n = Note(n.pitch, n.start, round(t0, 6), n.velocity)
        kept.append(n)
    return tuple(kept) + tuple(new)


def _melody_region_bars(song: SourceSong, bars: np.ndarray) -> np.ndarray:
    """Indices of bar lines inside the sung part of the song (first to last melody note)."""
    if not song.melody.notes:
        return np.zeros(0, dtype=np.int64)
    first, last = song.melody.notes[0].start, song.melody.end_time
    return np.nonzero((bars >= first - 1e-6) & (bars < last))[0]


# ------------------------------------------------------------------------------------- artefacts
def transcription_artefacts(track: Track, seed=None, *, partial_rate: float = 0.0, split_rate: float = 0.0,
                            drop_rate: float = 0.0, jitter_ms: float = 0.0,
                            partial_intervals: Sequence[int] = (12, 19)) -> tuple[Track, dict]:
    """Artefacts of audio transcription on a (melody) track.

    Exactly ``round(rate x n)`` of the ``n`` notes get each error, on disjoint sets of notes drawn
    at random: dropped; split in two at 35-65 % of its length (same pitch); a partial added as a
    simultaneous note (``+12`` octave or ``+19`` octave plus fifth, chosen at random, velocity
    x 0.6: what a transcriber hears of a voice's upper harmonics). Then every note's onset
    (and end) moves by a normal jitter of sd ``jitter_ms`` clipped at 2.5 sd; a partial shares its
    note's onset.

    Parameters
    ----------
    track : Track
    seed : int or numpy.random.Generator
    partial_rate, split_rate, drop_rate : float
        Shares of the notes, each in [0, 1], summing to at most 1.
    jitter_ms : float
        >= 0.
    partial_intervals : sequence of int
        Semitones above the note a partial may take.

    Returns
    -------
    track : Track
        Same name and program.
    counts : dict
        ``n_source_notes, dropped, split, partials, partial_12, partial_19`` (one key per
        interval), ``jitter_ms``.
    """
    rng = _rng(seed)
    rates = {"partial_rate": partial_rate, "split_rate": split_rate, "drop_rate": drop_rate}
    for k, v in rates.items():
        if not 0.0 <= float(v) <= 1.0:
            raise ParameterError(f"{k} must be in [0, 1], got {v}")
    if sum(float(v) for v in rates.values()) > 1.0 + 1e-9:
        raise ParameterError(f"partial_rate + split_rate + drop_rate must be <= 1, got {rates}")
    if jitter_ms < 0:
        raise ParameterError(f"jitter_ms must be >= 0, got {jitter_ms}")
    if not partial_intervals or any(int(i) <= 0 for i in partial_intervals):
        raise ParameterError(f"partial_intervals must be positive semitones, got {partial_intervals}")
    notes = list(track.notes)
    n = len(notes)
    k_drop, k_split, k_part = (int(round(float(r) * n)) for r in (drop_rate, split_rate, partial_rate))
    # rounding three shares up can overshoot n by one or two: trim the largest
    while k_drop + k_split + k_part > n:
        if k_part >= max(k_drop, k_split):
            k_part -= 1
        elif k_split >= k_drop:
            k_split -= 1
        else:
            k_drop -= 1
    perm = rng.permutation(n)
    drop = set(perm[:k_drop].tolist())
    split = set(perm[k_drop:k_drop + k_split].tolist())
    part = set(perm[k_drop + k_split:k_drop + k_split + k_part].tolist())
    shifts = _jitter(rng, n, jitter_ms)
    cut = rng.uniform(0.35, 0.65, n)
    intervals = np.asarray([int(i) for i in partial_intervals])
    which = rng.integers(0, intervals.shape[0], n)
    second_shift = _jitter(rng, n, jitter_ms)  # the split note's second half is its own onset
    out: list[Note] = []
    counts = {"n_source_notes": n, "dropped": len(drop), "split": len(split), "partials": 0,
              **{f"partial_{int(i)}": 0 for i in intervals}, "jitter_ms": float(jitter_ms)}
    for i, nt in enumerate(notes):
        if i in drop:
            continue
        s, e = nt.start + shifts[i], nt.end + shifts[i]
        if i in split:
            mid = nt.start + cut[i] * (nt.end - nt.start)
            out.append(_note(nt.pitch, s, mid + shifts[i], nt.velocity))
            out.append(_note(nt.pitch, mid + second_shift[i], nt.end + second_shift[i], nt.velocity))
            continue
        out.append(_note(nt.pitch, s, e, nt.velocity))
        if i in part:
            iv = int(intervals[which[i]])
            if nt.pitch + iv > 127:  # no room above: the lowest interval; if even that does not fit,
                iv = int(intervals.min())  # no partial (``partials`` counts those placed)
            if nt.pitch + iv <= 127:
                out.append(_note(nt.pitch + iv, s, e, int(nt.velocity * 0.6)))
                counts["partials"] += 1
                counts[f"partial_{iv}"] += 1
    return dataclasses.replace(track, notes=tuple(out)), counts


# ----------------------------------------------------------------------------------------- cases
def phrase_case(source: SourceSong, host: SourceSong, seed=None, *, bars: tuple[int, int] = (4, 16),
                transpose: tuple[int, int] = (-6, 6), tempo: tuple[float, float] = (0.8, 1.25),
                jitter_ms: float = 10.0, melody_name: str = "Melody", min_notes: int = 8,
                case_id: str | None = None) -> Case:
    """A phrase of ``source``'s melody, transposed and re-timed, inside ``host``.

    ``k`` bars (drawn from ``bars``) of the source melody starting at a bar line are shifted by a
    non-zero number of semitones drawn from ``transpose`` (so every case tests transposition),
    stretched to tempo x ``f`` (``f`` uniform in ``tempo``: durations divide by ``f``), jittered,
    and replace the host's melody from one of its bar lines inside its sung part. The host's
    bridge and piano stay: an otherwise different song.

    Parameters
    ----------
    source, host : SourceSong
        Different songs.
    seed : int or numpy.random.Generator
    bars : (int, int)
        Phrase length range in bars (inclusive), within 1-64.
    transpose : (int, int)
        Semitone range (inclusive); 0 is never drawn unless the range is (0, 0).
    tempo : (float, float)
        Tempo factor range, within 0.5-2.
    jitter_ms : float
        Onset jitter sd (:func:`transcription_artefacts`).
    melody_name : str
        The query's melody track name as stored (:func:`file_track_name`).
    min_notes : int
        The phrase holds at least ``max(min_notes, k)`` melody notes, one of them in its first bar.
    case_id : str, optional

    Returns
    -------
    Case
        ``kind='phrase'``, ``positive=True``, counterpart = the whole source song; one section:
        host span and source span.

    Raises
    ------
    ParameterError
        Bad ranges, the same song twice, or no phrase/host position that fits.
    """
    rng = _rng(seed)
    b_lo, b_hi = (int(v) for v in _check_range("bars", bars, 1, 64))
    t_lo, t_hi = (int(v) for v in _check_range("transpose", transpose, -24, 24))
    f_lo, f_hi = _check_range("tempo", tempo, 0.5, 2.0)
    if source.song_id == host.song_id and source.transpose == host.transpose:
        raise ParameterError(f"phrase_case needs two different songs, got {source.song_id} twice")
    sbars, hbars = bar_lines(source), bar_lines(host)
    k = int(rng.integers(b_lo, b_hi + 1))
    # phrase start: a bar line with k full bars after it and enough melody in them
    onsets = source.melody.onsets()
    starts = []
    for b0 in range(0, sbars.shape[0] - k):
        cnt = int(np.count_nonzero((onsets >= sbars[b0]) & (onsets < sbars[b0 + k])))
        # a phrase starts with a note in its first bar (a copied phrase is not a run of rests)
        first = bool(np.any((onsets >= sbars[b0]) & (onsets < sbars[b0 + 1])))
        if cnt >= max(min_notes, k) and first:
            starts.append(b0)
    if not starts:
        raise ParameterError(f"song {source.song_id}: no {k}-bar phrase with >= {max(min_notes, k)} melody notes")
    b0 = int(starts[int(rng.integers(len(starts)))])
    s0, s1 = float(sbars[b0]), float(sbars[b0 + k])
    shifts = [t for t in range(t_lo, t_hi + 1) if t != 0] or [0]
    t = int(shifts[int(rng.integers(len(shifts)))])
    f = float(rng.uniform(f_lo, f_hi))
    length = (s1 - s0) / f
    # host position: a bar line inside the sung part with the whole phrase before the song ends
    region = _melody_region_bars(host, hbars)
    last = host.melody.end_time if host.melody.notes else host.duration
    fits = [int(i) for i in region if hbars[i] + length <= last]
    if not fits:
        fits = [int(i) for i in range(hbars.shape[0]) if hbars[i] + length <= host.duration]
    if not fits:
        raise ParameterError(f"host {host.song_id} ({host.duration:.1f} s) is too short for a {length:.1f} s phrase")
    hb = fits[int(rng.integers(len(fits)))]
    h0 = float(hbars[hb])
    phrase = _crop(source.melody.notes, s0, s1)
    jit = _jitter(rng, len(phrase), jitter_ms)
    new = [_note(n.pitch + t, h0 + (n.start - s0) / f + d, h0 + (n.end - s0) / f + d, n.velocity)
           for n, d in zip(phrase, jit)]
    melody = Track(melody_name, _replace_span(host.melody.notes, h0, h0 + length, new), _PROGRAMS["melody"])
    base = song_piece(host)
    query = dataclasses.replace(base, tracks=(melody,) + tuple(x for x in base.tracks if x.name != "Melody"))
    cid = case_id or f"phrase-{source.song_id}-in-{host.song_id}"
    truth = {
        "case_id": cid, "kind": "phrase", "positive": True, "query_song": host.song_id,
        "source_song": source.song_id, "counterpart_id": f"pop909-{source.song_id}",
        "transpose_semitones": t, "tempo_ratio": round(f, 6),
        "sections": [_section(h0, length, s0, s1 - s0)],
        "params": {"bars": k, "source_bar": b0, "host_bar": hb, "jitter_ms": float(jitter_ms),
                   "n_phrase_notes": len(new), "melody_track": melody_name},
    }
    return Case(cid, query, song_piece(source), truth)


def melody_file_case(parent: Case, seed=None, *, phrase_only: bool = False, max_seconds: float | None = None,
                     name: str = "Melody", encoding: str = "utf-8", partial_rate: float = 0.0,
                     split_rate: float = 0.0, drop_rate: float = 0.0, jitter_ms: float = 0.0,
                     case_id: str | None = None) -> Case:
    """A single-line melody file made from a case's query (what a transcriber delivers).

    Only the query's melody track is kept (one track), optionally cropped to the case's first
    true section (``phrase_only``: the suspect phrase alone, starting at 0), renamed, and given
    :func:`transcription_artefacts`.

    Parameters
    ----------
    parent : Case
        Any case whose ``truth['params']['melody_track']`` names its query's melody track.
    seed : int or numpy.random.Generator
    phrase_only : bool
    max_seconds : float, optional
        With ``phrase_only``: keep only the phrase's first ``max_seconds`` (a short suspect
        melody); the section shrinks with it (the source span by the case's tempo ratio).
    name, encoding : str
        The track name and the bytes it is written in (:func:`file_track_name`).
    partial_rate, split_rate, drop_rate, jitter_ms : float
        :func:`transcription_artefacts`.
    case_id : str, optional

    Returns
    -------
    Case
        ``kind='melody_file'``, the parent's counterpart, transposition and tempo; sections
        shifted to the file's timeline when ``phrase_only``; ``params``: the artefact counts
        (:func:`transcription_artefacts`), ``melody_track`` (as stored), ``track_name`` (intended),
        ``encoding``, ``phrase_only``, ``parent``, ``parent_kind``, ``parent_params``.
    """
    rng = _rng(seed)
    mel_name = parent.truth.get("params", {}).get("melody_track")
    try:
        mel = parent.query.track(mel_name) if mel_name else None
    except KeyError:
        mel = None
    if mel is None:
        raise ParameterError(f"case {parent.case_id}: its truth names no melody track of the query")
    stored = file_track_name(name, encoding)
    notes = mel.notes
    sections = [dict(s) for s in parent.truth["sections"]]
    if phrase_only:
        if not sections:
            raise ParameterError(f"case {parent.case_id} has no true section to crop a phrase from")
        sec = sections[0]
        t0, t1 = sec["startMilliSec"] / 1000.0, (sec["startMilliSec"] + sec["durationMilliSec"]) / 1000.0
        if max_seconds is not None:
            if not max_seconds > 0:
                raise ParameterError(f"max_seconds must be > 0, got {max_seconds}")
            if t0 + max_seconds < t1:
                ratio = float(parent.truth.get("tempo_ratio", 1.0))
                t1 = t0 + float(max_seconds)
                sec = {**sec, "durationMilliSec": _ms(max_seconds),
                       "originalDurationMilliSec": _ms(max_seconds * ratio)}
        # the phrase's own notes only: a jittered first onset may sit up to 2.5 sd before t0
        lead = 2.5 * max(float(parent.truth.get("params", {}).get("jitter_ms", 0.0)), 0.0) / 1000.0
        notes = tuple(Note(n.pitch, round(max(n.start - t0, 0.0), 6), round(n.end - t0, 6), n.velocity)
                      for n in _crop(notes, t0 - lead, t1) if n.end - max(n.start, t0) >= _MIN_DUR)
        sections = [{**sec, "startMilliSec": 0}]
    if not notes:
        raise ParameterError(f"case {parent.case_id}: no melody notes in the requested span")
    track, counts = transcription_artefacts(Track(stored, notes, mel.program), rng, partial_rate=partial_rate,
                                            split_rate=split_rate, drop_rate=drop_rate, jitter_ms=jitter_ms)
    query = Piece((track,), parent.query.tempo_bpm, None)
    suffix = "phr" if phrase_only else "mel"
    cid = case_id or f"{parent.case_id}-{suffix}"
    truth = {**parent.truth, "case_id": cid, "kind": "melody_file", "sections": sections,
             "params": {**counts, "melody_track": stored, "track_name": name, "encoding": encoding,
                        "phrase_only": bool(phrase_only), "max_seconds": max_seconds,
                        "partial_rate": float(partial_rate), "split_rate": float(split_rate),
                        "drop_rate": float(drop_rate), "parent": parent.case_id,
                        "parent_kind": parent.truth["kind"], "parent_params": parent.truth.get("params", {})}}
    return Case(cid, query, parent.counterpart, truth)


def _beat_position(t: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """Fractional beat index of times ``t`` (linear in each beat; NaN outside the grid)."""
    pos = np.interp(t, beats, np.arange(beats.shape[0], dtype=np.float64))
    return np.where((t < beats[0]) | (t > beats[-1]), np.nan, pos)


def _chord_tones_at(song: SourceSong, t: float) -> set[int] | None:
    for c in song.chords:
        if c.start <= t < c.end:
            return None if c.root is None else {(c.root + iv) % 12 for iv in c.intervals}
    return None


def chord_groove_case(accomp: SourceSong, melody_src: SourceSong, seed=None, *, refit: bool = True,
                      melody_name: str = "Melody", case_id: str | None = None) -> Case:
    """Hard negative: ``accomp``'s chords and groove (its piano part) under ``melody_src``'s melody.

    The melody is moved onto ``accomp``'s beat grid (beat for beat, first downbeat on first
    downbeat, so its rhythm follows the accompaniment's tempo), transposed to ``accomp``'s key
    (tonic onto tonic, shift in -5..6) and, with ``refit``, every note that starts on a beat
    outside the chord sounding there moves to the nearest chord tone at most 2 semitones away (ties
    downward): "re-fitted to the chords where simple". The bridge (a second melody) is left out.

    Parameters
    ----------
    accomp, melody_src : SourceSong
        Different songs.
    seed : int or numpy.random.Generator
        Unused draws are not made; kept for a uniform signature.
    refit : bool
    melody_name : str
    case_id : str, optional

    Returns
    -------
    Case
        ``kind='chord_groove'``, ``positive=False`` (the melody is not ``accomp``'s), counterpart
        = the whole ``accomp`` song, no sections; ``params['melody_from']``, ``key_shift``,
        ``refitted``.
    """
    _rng(seed)
    if accomp.song_id == melody_src.song_id:
        raise ParameterError(f"chord_groove_case needs two different songs, got {accomp.song_id} twice")
    ab, mb = np.asarray(accomp.beats, float), np.asarray(melody_src.beats, float)
    a_down = np.nonzero(accomp.downbeats)[0]
    m_down = np.nonzero(melody_src.downbeats)[0]
    offset = float((a_down[0] if a_down.size else 0) - (m_down[0] if m_down.size else 0))
    key_shift = (accomp.key_tonic - melody_src.key_tonic) % 12
    key_shift = key_shift - 12 if key_shift > 6 else key_shift
    mel = melody_src.melody
    on_pos = _beat_position(mel.onsets(), mb) + offset
    off_pos = _beat_position(mel.offsets(), mb) + offset
    idx = np.arange(ab.shape[0], dtype=np.float64)
    notes, refitted = [], 0
    for nt, p0, p1 in zip(mel.notes, on_pos, off_pos):
        if not (np.isfinite(p0) and np.isfinite(p1)) or p0 < 0 or p1 > ab.shape[0] - 1:
            continue
        s, e = float(np.interp(p0, idx, ab)), float(np.interp(p1, idx, ab))
        pitch = nt.pitch + key_shift
        if refit and abs(p0 - round(p0)) < 0.15:
            tones = _chord_tones_at(accomp, s)
            if tones and pitch % 12 not in tones:
                for d in (-1, 1, -2, 2):
                    if (pitch + d) % 12 in tones:
                        pitch += d
                        refitted += 1
                        break
        notes.append(_note(pitch, s, e, nt.velocity))
    if len(notes) < 8:
        raise ParameterError(f"song {melody_src.song_id}'s melody does not fit {accomp.song_id}'s beat grid")
    piano = Track("Piano", accomp.piano.notes, _PROGRAMS["piano"])
    query = Piece((Track(melody_name, tuple(notes), _PROGRAMS["melody"]), piano), float(accomp.tempo_bpm),
                  np.asarray(accomp.beats, dtype=np.float64))
    cid = case_id or f"chordgroove-{accomp.song_id}-with-{melody_src.song_id}"
    truth = {"case_id": cid, "kind": "chord_groove", "positive": False, "query_song": accomp.song_id,
             "source_song": accomp.song_id, "counterpart_id": f"pop909-{accomp.song_id}",
             "transpose_semitones": 0, "tempo_ratio": 1.0, "sections": [],
             "params": {"melody_from": melody_src.song_id, "key_shift": int(key_shift), "refit": bool(refit),
                        "refitted": refitted, "n_notes": len(notes), "melody_track": melody_name}}
    return Case(cid, query, song_piece(accomp), truth)


def _insert_motif(song: SourceSong, rng: np.random.Generator, degrees: np.ndarray, bars: int,
                  melody_name: str, mode: str) -> tuple[Piece, float, float]:
    """``song`` with ``bars`` bars of its melody replaced by the scale-run ``degrees`` of ``mode``
    (eighths on its own beat grid, near its melody's median pitch), from the song's tonic, or
    from its relative major/minor tonic when its mode differs (so the run stays in its key)."""
    bl = bar_lines(song)
    beats = np.asarray(song.beats, float)
    region = [int(i) for i in _melody_region_bars(song, bl) if i + bars < bl.shape[0]]
    if not region:
        raise ParameterError(f"song {song.song_id} has no {bars} bars of melody for a motif")
    b = region[int(rng.integers(len(region)))]
    t0, t1 = float(bl[b]), float(bl[b + bars])
    # eighth notes on the song's own beats from the bar line on (half-beat steps)
    first_beat = float(np.interp(t0, beats, np.arange(beats.shape[0])))
    idx = np.arange(beats.shape[0], dtype=np.float64)
    steps = first_beat + 0.5 * np.arange(degrees.shape[0] + 1)
    times = np.interp(steps, idx, beats, right=np.nan)
    if not np.all(np.isfinite(times)):
        raise ParameterError(f"song {song.song_id}: the motif runs past its last beat")
    med = float(np.median(song.melody.pitches())) if song.melody.notes else 67.0
    pc = song.key_tonic if song.key_mode == mode else (song.key_tonic + (3 if mode == "maj" else 9)) % 12
    tonic = pc + 12 * int(round((med - 6 - pc) / 12.0))
    motif = [_note(tonic + int(d), float(times[i]), float(times[i + 1]) - 0.01, 90)
             for i, d in enumerate(degrees)]
    t_end = float(times[-1])
    base = song_piece(song)
    mel = Track(melody_name, _replace_span(song.melody.notes, t0, max(t1, t_end), motif), _PROGRAMS["melody"])
    piece = dataclasses.replace(base, tracks=(mel,) + tuple(x for x in base.tracks if x.name != "Melody"))
    return piece, t0, t_end - t0


def cliche_case(song_x: SourceSong, song_y: SourceSong, seed=None, *, bars: int | None = None,
                melody_name: str = "Melody", case_id: str | None = None) -> Case:
    """Hard negative: two different songs sharing one stock motif (a scale run) and nothing else.

    The same 1- or 2-bar run (``bars``; drawn when None) of eighth notes -- up the scale's octave,
    and for 2 bars back down -- replaces the melody of one bar span in each song, in each song's
    own key (the scale of ``song_x``'s mode: same intervals in both; in ``song_y`` from its
    relative tonic when its mode differs), register and tempo.

    Parameters
    ----------
    song_x, song_y : SourceSong
        The query's song and the counterpart's song (different).
    seed : int or numpy.random.Generator
    bars : {1, 2} or None
    melody_name : str
        The query's melody track name (the counterpart's is ``Melody``).
    case_id : str, optional

    Returns
    -------
    Case
        ``kind='cliche'``, ``positive=False``, counterpart = ``song_y`` with the motif (its own
        ``counterpart_id``); one section: the motif in both timelines.
    """
    rng = _rng(seed)
    if song_x.song_id == song_y.song_id:
        raise ParameterError(f"cliche_case needs two different songs, got {song_x.song_id} twice")
    if bars is None:
        bars = int(rng.integers(1, 3))
    if bars not in (1, 2):
        raise ParameterError(f"bars must be 1 or 2, got {bars}")
    mode = "min" if song_x.key_mode == "min" else "maj"
    up = np.asarray(_SCALES[mode])
    degrees = up if bars == 1 else np.concatenate([up, up[::-1]])
    pieces = [_insert_motif(song, rng, degrees, bars, name, mode)
              for song, name in ((song_x, melody_name), (song_y, "Melody"))]
    (qx, x0, xd), (py, y0, yd) = pieces
    cid = case_id or f"cliche-{song_x.song_id}-{song_y.song_id}"
    truth = {"case_id": cid, "kind": "cliche", "positive": False, "query_song": song_x.song_id,
             "source_song": song_y.song_id, "counterpart_id": f"cliche-{song_y.song_id}-{song_x.song_id}",
             "transpose_semitones": (song_y.key_tonic - song_x.key_tonic) % 12, "tempo_ratio": 1.0,
             "sections": [_section(x0, xd, y0, yd)],
             "params": {"bars": bars, "motif": f"scale_run_{mode}", "melody_track": melody_name}}
    return Case(cid, qx, py, truth)


def excerpt_case(song: SourceSong, seed=None, *, bars: int = 8, start_bar: int | None = None,
                 transpose: int = 0, tempo_ratio: float = 1.0, jitter_ms: float = 0.0,
                 melody_name: str = "Melody", case_id: str | None = None) -> Case:
    """An excerpt of ``bars`` bars of a song (every part), exact or transposed and re-timed.

    Parameters
    ----------
    song : SourceSong
    seed : int or numpy.random.Generator
        Draws the start bar (inside the sung part) when ``start_bar`` is None, and the jitter.
    bars : int
        >= 1.
    start_bar : int, optional
        Index into :func:`bar_lines`.
    transpose : int
        Semitones.
    tempo_ratio : float
        Tempo factor in 0.5-2 (durations divide by it).
    jitter_ms : float
        Onset jitter sd of every note (0: exact).
    melody_name : str
    case_id : str, optional

    Returns
    -------
    Case
        ``kind='excerpt'``, ``positive=True``, counterpart = the whole song, the excerpt starting
        at 0 s; one section (excerpt span, song span).
    """
    rng = _rng(seed)
    if int(bars) < 1:
        raise ParameterError(f"bars must be >= 1, got {bars}")
    if not 0.5 <= float(tempo_ratio) <= 2.0:
        raise ParameterError(f"tempo_ratio must be in [0.5, 2], got {tempo_ratio}")
    bl = bar_lines(song)
    if start_bar is None:
        region = [int(i) for i in _melody_region_bars(song, bl) if i + bars < bl.shape[0]]
        if not region:
            region = [i for i in range(bl.shape[0] - bars)]
        if not region:
            raise ParameterError(f"song {song.song_id} has fewer than {bars + 1} bar lines")
        start_bar = region[int(rng.integers(len(region)))]
    if not 0 <= start_bar < bl.shape[0] - bars:
        raise ParameterError(f"start_bar {start_bar} + {bars} bars is outside song {song.song_id}'s "
                             f"{bl.shape[0]} bar lines")
    s0, s1 = float(bl[start_bar]), float(bl[start_bar + bars])
    f = float(tempo_ratio)
    tracks = []
    for tr in song_piece(song, melody_name=melody_name).tracks:
        cropped = _crop(tr.notes, s0, s1)
        jit = _jitter(rng, len(cropped), jitter_ms)
        tracks.append(Track(tr.name, tuple(_note(n.pitch + int(transpose), (n.start - s0) / f + d,
                                                  (n.end - s0) / f + d, n.velocity)
                                            for n, d in zip(cropped, jit)), tr.program))
    beats = np.asarray(song.beats, float)
    beats = (beats[(beats >= s0 - 1e-6) & (beats < s1)] - s0) / f
    query = Piece(tuple(t for t in tracks if t.notes), round(float(song.tempo_bpm) * f, 6), beats)
    exact = int(transpose) == 0 and f == 1.0 and jitter_ms == 0
    cid = case_id or f"excerpt-{song.song_id}-{bars}bars-{'exact' if exact else 'shifted'}"
    truth = {"case_id": cid, "kind": "excerpt", "positive": True, "query_song": song.song_id,
             "source_song": song.song_id, "counterpart_id": f"pop909-{song.song_id}",
             "transpose_semitones": int(transpose), "tempo_ratio": round(f, 6),
             "sections": [_section(0.0, (s1 - s0) / f, s0, s1 - s0)],
             "params": {"bars": int(bars), "start_bar": int(start_bar), "jitter_ms": float(jitter_ms),
                        "exact": exact, "melody_track": melody_name}}
    return Case(cid, query, song_piece(song), truth)


# ------------------------------------------------------------------------------------------ files
def midi_bytes(piece: Piece) -> bytes:
    """A piece as Standard MIDI File bytes (one track per part, the piece's first tempo).

    Deterministic: the same piece gives the same bytes. Track names go out as their Latin-1
    bytes (:func:`file_track_name`).
    """
    from ..midi import piece_to_pretty_midi

    buf = io.BytesIO()
    try:
        piece_to_pretty_midi(piece).write(buf)
    except UnicodeEncodeError as exc:
        raise ParameterError("a track name holds characters outside Latin-1: store it with "
                             f"file_track_name(name, encoding) ({exc})") from exc
    return buf.getvalue()


def write_cases(cases: Sequence[Case], out: str | os.PathLike, *, extra_candidates: dict | None = None
                ) -> list[dict]:
    """Write cases as MIDI files and a truth CSV.

    Layout: ``out/queries/<case_id>.mid`` (single- or multi-track as the query is),
    ``out/candidates/<counterpart_id>.mid`` (each counterpart once, plus ``extra_candidates``),
    ``out/truth.csv`` (:data:`TRUTH_COLUMNS`, UTF-8; ``sections`` and ``params`` as JSON).

    Parameters
    ----------
    cases : sequence of Case
        Unique ``case_id``; one counterpart piece per ``counterpart_id``.
    out : path-like
    extra_candidates : dict of str to Piece, optional
        More candidate files (unrelated songs), by id.

    Returns
    -------
    list of dict
        The truth rows as written.
    """
    out = Path(out)
    (out / "queries").mkdir(parents=True, exist_ok=True)
    (out / "candidates").mkdir(parents=True, exist_ok=True)
    seen_cases: set[str] = set()
    written: dict[str, bytes] = {}
    rows = []
    for case in cases:
        if case.case_id in seen_cases:
            raise ParameterError(f"duplicate case_id {case.case_id!r}")
        seen_cases.add(case.case_id)
        tr = case.truth
        qfile = f"queries/{case.case_id}.mid"
        (out / qfile).write_bytes(midi_bytes(case.query))
        cfile = ""
        if case.counterpart is not None:
            cid = tr["counterpart_id"]
            data = midi_bytes(case.counterpart)
            if cid in written and written[cid] != data:
                raise ParameterError(f"two different counterpart pieces share the id {cid!r}")
            if cid not in written:
                (out / f"candidates/{cid}.mid").write_bytes(data)
                written[cid] = data
            cfile = f"candidates/{cid}.mid"
        rows.append({
            "case_id": case.case_id, "kind": tr["kind"], "positive": int(bool(tr["positive"])),
            "query_file": qfile, "counterpart_id": tr.get("counterpart_id", ""), "counterpart_file": cfile,
            "query_song": tr.get("query_song", ""), "source_song": tr.get("source_song", ""),
            "n_tracks": len(case.query.tracks), "transpose_semitones": tr.get("transpose_semitones", 0),
            "tempo_ratio": tr.get("tempo_ratio", 1.0),
            "sections": json.dumps(tr.get("sections", []), sort_keys=True),
            # ASCII JSON: stored track names hold raw Latin-1 control bytes (C1 range)
            "params": json.dumps(tr.get("params", {}), sort_keys=True),
        })
    for cid, piece in sorted((extra_candidates or {}).items()):
        if cid in written:
            raise ParameterError(f"extra candidate {cid!r} clashes with a counterpart id")
        (out / f"candidates/{cid}.mid").write_bytes(midi_bytes(piece))
    with open(out / "truth.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=TRUTH_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return rows

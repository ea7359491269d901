"""Per-track features for similarity: computed once per track, compared many times.

:func:`extract_features` turns a :class:`~musim_spark.model.Piece` into a :class:`TrackFeatures`, a
frozen dataclass of flat numpy arrays (``to_dict``/``from_dict`` round-trip through plain arrays so
a Spark stage can store it in a Delta table and rebuild it). Every pair comparison
(:mod:`.melody`, :mod:`.rhythm`, :mod:`.chord`) works on these features only.

Conventions
-----------
- Times in seconds (s); pitches MIDI numbers; pitch classes 0-11 (C = 0).
- Melody: a monophonic line (the "skyline": at each onset the highest note; a note ends where
  the next begins), from the label's melody track or, without one, the track found by
  :func:`find_melody_track`.
- Beat grid: the MIDI tempo map's beats when the file declares a tempo (not the 120 bpm default
  with no tempo event), else a constant grid at the tempo estimated from onset intervals.
- Rhythm: a pulse grid tracked from the note onsets themselves (predominant local pulse, so it
  follows tempo changes even where the tempo map does not), and per pulse a binary onset pattern
  of :data:`STEPS_PER_PULSE` steps for each of :data:`RHYTHM_GROUPS` (kick, snare,
  hi-hat/cymbals, other percussion, other accompaniment, the label's chord track, melody-line
  onsets). The melody's and the comping's own rhythm is what makes the facet song-specific (a
  genre's drum, bass and pad patterns are shared by many songs); the pulse is tracked from the
  drum and accompaniment onsets only (not the melody's).
- Chord: per beat a triad (root 0-11, quality 0 major / 1 minor, -1 none) by template matching
  on the duration-weighted chroma of the chord notes (label's chord track, else all pitched tracks
  but the melody, else the melody), then runs of equal chords become chord events.

Examples
--------
>>> from musim_spark.model import Note, Piece, Track
>>> mel = Track("Melody", tuple(Note(60 + (i % 5), 0.5 * i, 0.5 * i + 0.4) for i in range(16)))
>>> f = extract_features(Piece((mel,), tempo_bpm=120.0))
>>> f.melody_pitch[:5].tolist()
[60, 61, 62, 63, 64]
>>> TrackFeatures.from_dict(f.to_dict()).melody_pitch.shape
(16,)
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ..errors import ParameterError
from ..model import Piece, Track

__all__ = [
    "TrackFeatures",
    "RHYTHM_GROUPS",
    "STEPS_PER_PULSE",
    "pulse_grid",
    "extract_features",
    "find_melody_track",
    "skyline",
    "beat_grid",
    "rhythm_patterns",
    "rhythm_events",
    "chords_per_beat",
    "embedding",
    "EMBEDDING_DIM",
]

#: Rhythm instrument groups, in pattern order.
RHYTHM_GROUPS = ("kick", "snare", "hihat", "perc", "accomp", "comp", "melody")
#: Steps per pulse of a rhythm pattern.
STEPS_PER_PULSE = 4
#: Frames per second of the onset envelope the pulse is tracked on.
_PULSE_FPS = 50

# General MIDI percussion keys by group (GM 1 key map).
_KICK = (35, 36)
_SNARE = (37, 38, 39, 40)
_HATS = (42, 44, 46, 49, 51, 52, 53, 55, 57, 59)


def _drum_group(pitch: np.ndarray) -> np.ndarray:
    g = np.full(pitch.shape, 3, dtype=np.int64)
    g[np.isin(pitch, _KICK)] = 0
    g[np.isin(pitch, _SNARE)] = 1
    g[np.isin(pitch, _HATS)] = 2
    return g


@dataclasses.dataclass(frozen=True)
class TrackFeatures:
    """What the similarity facets need from one track; every field a flat numpy array.

    Attributes
    ----------
    melody_pitch : np.ndarray [shape=(n,), int16]
        Melody (skyline) pitches in onset order.
    melody_onset, melody_offset : np.ndarray [shape=(n,), float64]
        Their onsets and offsets in s.
    beat_times : np.ndarray [shape=(B,), float64]
        Beat grid in s.
    pulse : np.ndarray [shape=(K + 1,), float64]
        Pulse boundaries in s (K pulses), tracked from the onsets.
    rhythm_pattern : np.ndarray [shape=(K * G * STEPS_PER_PULSE,), float32]
        Per pulse, per group of :data:`RHYTHM_GROUPS`, onset steps (flattened; see
        :meth:`rhythm_matrix`).
    rhythm_onset : np.ndarray [shape=(R,), float64]
        Rhythm events: onsets (s) of drums, accompaniment and melody line, merged within the onset
        tolerance.
    rhythm_mask : np.ndarray [shape=(R,), uint8]
        Per event, bit g set when group g of :data:`RHYTHM_GROUPS` plays at it.
    has_drums : np.ndarray [shape=(1,), bool]
        Whether any drum notes were found.
    chord_root, chord_quality : np.ndarray [shape=(E,), int8]
        Chord events (runs of equal per-beat chords): root 0-11 (-1 = no chord), quality 0 major,
        1 minor.
    chord_start, chord_end : np.ndarray [shape=(E,), float64]
        Event times in s.
    duration : np.ndarray [shape=(1,), float64]
        The piece's end time in s.
    embedding : np.ndarray [shape=(EMBEDDING_DIM,), float32]
        Key-invariant fixed-length summary for candidate retrieval (:func:`embedding`).
    """

    melody_pitch: np.ndarray
    melody_onset: np.ndarray
    melody_offset: np.ndarray
    beat_times: np.ndarray
    pulse: np.ndarray
    rhythm_pattern: np.ndarray
    rhythm_onset: np.ndarray
    rhythm_mask: np.ndarray
    has_drums: np.ndarray
    chord_root: np.ndarray
    chord_quality: np.ndarray
    chord_start: np.ndarray
    chord_end: np.ndarray
    duration: np.ndarray
    embedding: np.ndarray

    @property
    def n_pulses(self) -> int:
        return max(int(self.pulse.shape[0]) - 1, 0)

    def rhythm_matrix(self) -> np.ndarray:
        """np.ndarray [shape=(K, G, STEPS_PER_PULSE), float32] the rhythm patterns per pulse and group."""
        return self.rhythm_pattern.reshape(self.n_pulses, len(RHYTHM_GROUPS), STEPS_PER_PULSE)

    def to_dict(self) -> dict[str, np.ndarray]:
        """Flat arrays by field name (for a Delta table row)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values) -> "TrackFeatures":
        """Rebuild from :meth:`to_dict` output (lists or arrays); dtypes are restored."""
        dtypes = _FIELD_DTYPES
        missing = sorted(set(dtypes) - set(values))
        if missing:
            raise ParameterError(f"TrackFeatures.from_dict: missing field(s) {missing}")
        return cls(**{k: np.asarray(values[k], dtype=dt) for k, dt in dtypes.items()})


_FIELD_DTYPES = {
    "melody_pitch": np.int16, "melody_onset": np.float64, "melody_offset": np.float64,
    "beat_times": np.float64, "pulse": np.float64, "rhythm_pattern": np.float32,
    "rhythm_onset": np.float64, "rhythm_mask": np.uint8,
    "has_drums": np.bool_, "chord_root": np.int8, "chord_quality": np.int8,
    "chord_start": np.float64, "chord_end": np.float64, "duration": np.float64,
    "embedding": np.float32,
}


def _arrays(track: Track) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return track.pitches(), track.onsets(), track.offsets()


def skyline(pitch: np.ndarray, onset: np.ndarray, offset: np.ndarray, *,
            onset_tolerance: float = 0.03) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monophonic highest-voice line of a (possibly polyphonic) note list.

    Notes whose onsets lie within ``onset_tolerance`` s of a group's first onset form one chord,
    of which the highest pitch is kept; each kept note ends at the next kept onset at the latest.

    Parameters
    ----------
    pitch : np.ndarray [shape=(n,)]
    onset, offset : np.ndarray [shape=(n,)] in s
    onset_tolerance : float
        s.

    Returns
    -------
    pitch, onset, offset : np.ndarray
        The line, sorted by onset.
    """
    if pitch.shape[0] == 0:
        return pitch.astype(np.int16), onset.astype(np.float64), offset.astype(np.float64)
    order = np.lexsort((-pitch, onset))
    p, on, off = pitch[order], onset[order], offset[order]
    # group start = an onset more than tolerance after the previous onset
    new_group = np.empty(p.shape[0], dtype=bool)
    new_group[0] = True
    new_group[1:] = np.diff(on) > onset_tolerance
    gid = np.cumsum(new_group) - 1
    # highest pitch per group: sort keys put highest first within equal onsets, but groups may
    # span slightly different onsets, so take the argmax explicitly
    n_groups = gid[-1] + 1
    best = np.full(n_groups, -1, dtype=np.int64)
    idx = np.arange(p.shape[0])
    key = p.astype(np.int64) * (p.shape[0] + 1) + (p.shape[0] - idx)
    bestkey = np.full(n_groups, -1, dtype=np.int64)
    np.maximum.at(bestkey, gid, key)
    best = p.shape[0] - (bestkey % (p.shape[0] + 1))
    p2, on2, off2 = p[best], on[new_group], off[best]
    off2 = off2.copy()
    off2[:-1] = np.minimum(off2[:-1], on2[1:])
    keep = off2 > on2
    return p2[keep].astype(np.int16), on2[keep], off2[keep]


def find_melody_track(piece: Piece) -> Track | None:
    """The track that most likely carries the melody (None if no pitched track has notes).

    The label's melody role wins; otherwise a track named like a melody (``melody``, ``vocal``,
    ``lead``); otherwise the pitched track with the highest salience = mean pitch x share of its
    notes that do not overlap another of its notes (melodies are high and mostly monophonic),
    among tracks with at least 8 notes.
    """
    roles = piece.by_role("melody")
    if roles and roles[0].notes:
        return roles[0]
    pitched = [t for t in piece.pitched_tracks() if t.notes]
    if not pitched:
        return None
    for t in pitched:
        if any(k in t.name.lower() for k in ("melody", "vocal", "lead")):
            return t
    if len(pitched) == 1:
        return pitched[0]

    def salience(t: Track) -> float:
        p, on, off = _arrays(t)
        if p.shape[0] < 8:
            return -1.0
        mono = float(np.mean(on[1:] >= off[:-1] - 0.05)) if p.shape[0] > 1 else 1.0
        return float(np.mean(p)) * mono

    return max(pitched, key=salience)


def _estimate_period(onsets: np.ndarray) -> float:
    """Beat period in s from onset intervals (the most common IOI folded into 0.4-0.8 s)."""
    on = np.unique(np.round(onsets, 2))
    if on.shape[0] < 4:
        return 0.5
    # histogram of pairwise onset distances up to 2 s (a crude autocorrelation of the onset train)
    d = (on[None, :] - on[:, None])
    d = d[(d > 0.1) & (d < 2.0)]
    if d.size == 0:
        return 0.5
    hist, edges = np.histogram(d, bins=np.arange(0.1, 2.0, 0.01))
    cand = (edges[:-1] + 0.005)
    # score each candidate period by the mass at it and its multiples (beat, 2 beats, bar)
    score = np.zeros(cand.shape[0])
    for k in (1, 2, 4):
        score += np.interp(cand * k, cand, hist, right=0.0)
    ok = (cand >= 0.35) & (cand <= 0.9)
    return float(cand[ok][np.argmax(score[ok])])


def beat_grid(piece: Piece) -> np.ndarray:
    """Beat times in s (see the module's Conventions), covering the whole piece."""
    end = piece.end_time
    beats = piece.beats
    declared = beats is not None and beats.shape[0] >= 2 and not (
        piece.tempo_bpm is not None and abs(piece.tempo_bpm - 120.0) < 1e-6
        and np.allclose(np.diff(beats), 0.5, atol=1e-6))
    if declared:
        b = np.asarray(beats, dtype=np.float64)
        b = b[b <= end + 1e-9]
        if b.shape[0] >= 2:
            return b
    onsets = np.concatenate([t.onsets() for t in piece.tracks]) if piece.tracks else np.zeros(0)
    period = _estimate_period(onsets)
    start = float(onsets.min()) if onsets.size else 0.0
    start = start - period * np.floor(start / period)
    return np.arange(start, max(end, start + period) + 1e-9, period)


def pulse_grid(onsets: np.ndarray, end: float, *, tempo_range: tuple[float, float] = (0.75, 1.33)) -> np.ndarray:
    """Beat-level pulse boundaries in s tracked from note onsets.

    The onsets become an onset-strength envelope at 50 frames/s. A global tempo T is estimated
    from it (librosa's tempogram estimate), then the predominant local pulse (PLP [1]_) is tracked
    with a uniform tempo prior on ``[tempo_range[0] T, tempo_range[1] T]``: the pulse follows tempo
    changes in part of the song (covers change it by 0.8-1.25) but cannot jump to another metrical
    level when transcription noise blurs the onsets.

    Returns
    -------
    np.ndarray [shape=(K + 1,)]
        Increasing; at least two values.

    References
    ----------
    .. [1] Grosche, P., Müller, M. (2011). Extracting predominant local pulse information from
           music recordings. IEEE Trans. Audio, Speech, Lang. Process. 19(6), 1688-1701.
    """
    if onsets.size < 4:
        return np.array([0.0, max(end, 0.5)])
    import librosa  # heavy imports only where needed
    import scipy.stats

    fps = _PULSE_FPS
    n = int(end * fps) + 3
    env = np.zeros(n)
    np.add.at(env, np.clip((onsets * fps).astype(np.int64), 0, n - 1), 1.0)
    env = np.convolve(env, [0.25, 0.5, 1.0, 0.5, 0.25], mode="same")
    kw = dict(onset_envelope=env, sr=fps * 512, hop_length=512)
    with warnings.catch_warnings():
        # librosa warns that its FFT window exceeds very short envelopes (< 8 s): harmless here
        warnings.simplefilter("ignore", UserWarning)
        tempo = float(np.atleast_1d(librosa.feature.tempo(**kw, start_bpm=100, max_tempo=200))[0])
        lo, hi = tempo_range
        prior = scipy.stats.uniform(loc=tempo * lo, scale=tempo * (hi - lo))
        pulse = librosa.beat.plp(**kw, win_length=8 * fps, prior=prior)
    peaks = np.nonzero(librosa.util.localmax(pulse) & (pulse > 0.1 * pulse.max()))[0] / fps
    if peaks.shape[0] < 2:
        return np.array([0.0, max(end, 0.5)])
    return peaks


def rhythm_events(onsets_by_group: list[np.ndarray], *, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge the groups' onsets into events (onsets within ``tolerance`` s are one event).

    Returns
    -------
    onset : np.ndarray [shape=(R,)]
        Event times in s (the first onset of each cluster).
    mask : np.ndarray [shape=(R,), uint8]
        Bit g set when group g has an onset in the event.
    """
    on = np.concatenate(onsets_by_group) if onsets_by_group else np.zeros(0)
    if on.size == 0:
        return np.zeros(0), np.zeros(0, np.uint8)
    g = np.concatenate([np.full(o.shape[0], i, np.int64) for i, o in enumerate(onsets_by_group)])
    order = np.argsort(on, kind="stable")
    on, g = on[order], g[order]
    new = np.empty(on.shape[0], dtype=bool)
    new[0] = True
    new[1:] = np.diff(on) > tolerance
    eid = np.cumsum(new) - 1
    mask = np.zeros(eid[-1] + 1, dtype=np.int64)
    np.bitwise_or.at(mask, eid, np.left_shift(1, g))
    return on[new], mask.astype(np.uint8)


def rhythm_patterns(onsets_by_group: list[np.ndarray], bar_start: np.ndarray) -> np.ndarray:
    """Soft onset patterns per pulse and group.

    Each onset is placed at its fractional step position ``STEPS_PER_PULSE x`` (its phase inside
    its pulse) and shared linearly between the two nearest steps, so a small timing offset (jitter,
    pulse phase error) changes the pattern a little instead of flipping a step.

    Parameters
    ----------
    onsets_by_group : list of np.ndarray
        One onset array (s) per group of :data:`RHYTHM_GROUPS`.
    bar_start : np.ndarray [shape=(K + 1,)]
        Pulse boundaries in s.

    Returns
    -------
    np.ndarray [shape=(K, G, STEPS_PER_PULSE), float32]
        Onset weight per step, clipped to 1.
    """
    K = max(bar_start.shape[0] - 1, 0)
    G = len(onsets_by_group)
    flat = np.zeros((K * STEPS_PER_PULSE + 1, G), dtype=np.float64)
    if K == 0:
        return np.zeros((0, G, STEPS_PER_PULSE), np.float32)
    for g, on in enumerate(onsets_by_group):
        if on.size == 0:
            continue
        k = np.searchsorted(bar_start, on, side="right") - 1
        ok = (k >= 0) & (k < K)
        k = k[ok]
        frac = (on[ok] - bar_start[k]) / (bar_start[k + 1] - bar_start[k])
        pos = (k + frac) * STEPS_PER_PULSE           # continuous step index over the whole track
        lo = np.floor(pos).astype(np.int64)
        w_hi = pos - lo
        np.add.at(flat[:, g], lo, 1.0 - w_hi)
        np.add.at(flat[:, g], np.minimum(lo + 1, K * STEPS_PER_PULSE), w_hi)
    flat = np.minimum(flat[:-1], 1.0)
    return flat.reshape(K, STEPS_PER_PULSE, G).transpose(0, 2, 1).astype(np.float32)


#: Chord templates: 12 major then 12 minor triads, unit-norm chroma vectors.
def _templates() -> np.ndarray:
    t = np.zeros((24, 12))
    for r in range(12):
        t[r, [r, (r + 4) % 12, (r + 7) % 12]] = 1.0
        t[12 + r, [r, (r + 3) % 12, (r + 7) % 12]] = 1.0
    return t / np.sqrt(3.0)


_TEMPLATES = _templates()


def chords_per_beat(pitch: np.ndarray, onset: np.ndarray, offset: np.ndarray, beats: np.ndarray, *,
                    end: float, bass_weight: float = 1.5,
                    min_fit: float = 0.6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triad per beat from notes by template matching on duration-weighted chroma.

    Parameters
    ----------
    pitch, onset, offset : np.ndarray [shape=(n,)]
        Chord notes (MIDI, s).
    beats : np.ndarray [shape=(B,)]
        Beat times in s; frame b spans ``[beats[b], beats[b + 1])`` (the last one to ``end``).
    end : float
        End of the last frame in s.
    bass_weight : float
        Extra weight of each frame's lowest sounding note (the bass defines the root).
    min_fit : float
        Cosine fit (0-1) below which a frame has no chord.

    Returns
    -------
    root : np.ndarray [shape=(B,), int8]
        0-11, -1 for no chord.
    quality : np.ndarray [shape=(B,), int8]
        0 major, 1 minor (0 where no chord).
    chroma : np.ndarray [shape=(B, 12)]
        The frames' chroma (before template matching), for the report and the embedding.
    """
    B = beats.shape[0]
    if B == 0:
        return np.zeros(0, np.int8), np.zeros(0, np.int8), np.zeros((0, 12))
    f_start = beats
    f_end = np.append(beats[1:], max(end, beats[-1] + 1e-3))
    if pitch.shape[0] == 0:
        return np.full(B, -1, np.int8), np.zeros(B, np.int8), np.zeros((B, 12))
    overlap = np.clip(np.minimum(offset[:, None], f_end[None, :]) - np.maximum(onset[:, None], f_start[None, :]),
                      0.0, None)  # (n, B) s
    pc = np.zeros((pitch.shape[0], 12))
    pc[np.arange(pitch.shape[0]), pitch % 12] = 1.0
    chroma = overlap.T @ pc  # (B, 12)
    # bass: lowest pitch sounding in each frame gets extra weight
    sounding = overlap > 0
    low = np.where(sounding, pitch[:, None], 999).min(axis=0)
    has = low < 999
    chroma[np.nonzero(has)[0], low[has] % 12] += bass_weight * (f_end - f_start)[has]
    norm = np.linalg.norm(chroma, axis=1)
    fit = (chroma @ _TEMPLATES.T) / np.where(norm > 0, norm, 1.0)[:, None]
    best = np.argmax(fit, axis=1)
    root = (best % 12).astype(np.int8)
    quality = (best // 12).astype(np.int8)
    none = (norm == 0) | (fit[np.arange(B), best] < min_fit)
    root[none] = -1
    quality[none] = 0
    return root, quality, chroma


def _chord_events(root, quality, beats, end):
    B = root.shape[0]
    if B == 0:
        z = np.zeros(0)
        return root, quality, z, z
    change = np.ones(B, dtype=bool)
    change[1:] = (root[1:] != root[:-1]) | (quality[1:] != quality[:-1])
    starts = np.nonzero(change)[0]
    f_end = np.append(beats[1:], max(end, beats[-1] + 1e-3))
    ends = np.append(starts[1:], B) - 1
    r, q = root[starts], quality[starts]
    s, e = beats[starts], f_end[ends]
    keep = r >= 0  # no-chord stretches are gaps, not events
    return r[keep], q[keep], s[keep], e[keep]


#: Length of :func:`embedding`'s vector.
EMBEDDING_DIM = 12 + 25 + 24 + 24 + len(RHYTHM_GROUPS) * STEPS_PER_PULSE


def embedding(melody_pitch: np.ndarray, melody_onset: np.ndarray, chord_root: np.ndarray,
              chord_quality: np.ndarray, rhythm: np.ndarray) -> np.ndarray:
    """Key- and tempo-invariant fixed-length summary of a track, for candidate retrieval.

    Blocks (each L2-normalised, then the whole): melody pitch-class histogram rotated so its
    strongest class is 0 (12); melody interval histogram, -12..+12 semitones clipped (25); chord
    root-movement histogram by (interval 0-11, quality of the arriving chord) (24); chord quality
    histogram rotated like the melody (24); mean rhythm pattern per group and step
    (``len(RHYTHM_GROUPS) x STEPS_PER_PULSE`` = 28).

    Returns
    -------
    np.ndarray [shape=(EMBEDDING_DIM,), float32]
    """
    blocks = []
    pch = np.bincount(melody_pitch.astype(np.int64) % 12, minlength=12).astype(np.float64) \
        if melody_pitch.size else np.zeros(12)
    tonic = int(np.argmax(pch)) if pch.sum() > 0 else 0
    blocks.append(np.roll(pch, -tonic))
    iv = np.clip(np.diff(melody_pitch.astype(np.int64)), -12, 12) + 12 if melody_pitch.size > 1 \
        else np.zeros(0, np.int64)
    blocks.append(np.bincount(iv, minlength=25).astype(np.float64))
    if chord_root.size > 1:
        mv = (chord_root[1:].astype(np.int64) - chord_root[:-1]) % 12 + 12 * chord_quality[1:].astype(np.int64)
        blocks.append(np.bincount(mv, minlength=24).astype(np.float64))
    else:
        blocks.append(np.zeros(24))
    if chord_root.size:
        cq = ((chord_root.astype(np.int64) - tonic) % 12) + 12 * chord_quality.astype(np.int64)
        blocks.append(np.bincount(cq, minlength=24).astype(np.float64))
    else:
        blocks.append(np.zeros(24))
    blocks.append(rhythm.reshape(rhythm.shape[0], -1).mean(axis=0) if rhythm.shape[0]
                  else np.zeros(len(RHYTHM_GROUPS) * STEPS_PER_PULSE))
    out = np.concatenate([b / n if (n := np.linalg.norm(b)) > 0 else b for b in blocks])
    n = np.linalg.norm(out)
    return (out / n if n > 0 else out).astype(np.float32)


def extract_features(piece: Piece, *, onset_tolerance: float = 0.03, chord_min_fit: float = 0.6,
                     chord_bass_weight: float = 1.5) -> TrackFeatures:
    """Compute a track's :class:`TrackFeatures`.

    Parameters
    ----------
    piece : Piece
        Roles (melody/rhythm/chord) from the label where known (:meth:`Piece.with_roles`).
    onset_tolerance : float
        s; onsets closer than this are one event (skyline chords).
    chord_min_fit, chord_bass_weight : float
        See :func:`chords_per_beat`.

    Returns
    -------
    TrackFeatures

    Warns
    -----
    UserWarning
        When the piece has no melody notes (melody similarity will be NaN).
    """
    if not isinstance(piece, Piece):
        raise ParameterError(f"extract_features needs a Piece, got {type(piece).__name__}")
    end = float(piece.end_time)
    mel_track = find_melody_track(piece)
    if mel_track is None:
        warnings.warn("piece has no pitched notes: melody and chord features are empty", UserWarning,
                      stacklevel=2)
        mp, mon, moff = np.zeros(0, np.int16), np.zeros(0), np.zeros(0)
    else:
        mp, mon, moff = skyline(*_arrays(mel_track), onset_tolerance=onset_tolerance)

    beats = beat_grid(piece)

    # rhythm groups: drums (label's rhythm track, else every drum track) by key; accompaniment =
    # pitched tracks other than the melody (the melody itself when it is the only track)
    drum_tracks = [t for t in piece.by_role("rhythm") if t.is_drum] or [t for t in piece.tracks if t.is_drum]
    drum_p = np.concatenate([t.pitches() for t in drum_tracks]) if drum_tracks else np.zeros(0, np.int64)
    drum_on = np.concatenate([t.onsets() for t in drum_tracks]) if drum_tracks else np.zeros(0)
    grp = _drum_group(drum_p)
    acc_tracks = [t for t in piece.pitched_tracks() if t is not mel_track and t.notes]
    acc_on = np.concatenate([t.onsets() for t in acc_tracks]) if acc_tracks else mon
    # the label's chord track (comping, the song's own) apart from the rest of the accompaniment
    comp = [t for t in acc_tracks if t.role == "chord"]
    rest = [t for t in acc_tracks if t.role != "chord"]
    comp_on = np.concatenate([t.onsets() for t in comp]) if comp else np.zeros(0)
    rest_on = (np.concatenate([t.onsets() for t in rest]) if rest else np.zeros(0)) if acc_tracks else mon
    # last group: the melody line's onsets (the song's own rhythm; covers but Rhythm_* keep it)
    drums = [drum_on[grp == g] for g in range(4)]
    groups = drums + [rest_on, comp_on, mon]
    r_on, r_mask = rhythm_events(groups, tolerance=onset_tolerance)
    pulse_on, _ = rhythm_events(drums + [acc_on], tolerance=onset_tolerance)
    pulses = pulse_grid(pulse_on, end)
    rhythm = rhythm_patterns(groups, pulses)

    chord_tracks = [t for t in piece.by_role("chord") if t.notes] or acc_tracks or \
        ([mel_track] if mel_track is not None else [])
    if chord_tracks:
        cp = np.concatenate([t.pitches() for t in chord_tracks])
        con = np.concatenate([t.onsets() for t in chord_tracks])
        coff = np.concatenate([t.offsets() for t in chord_tracks])
    else:
        cp, con, coff = np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    root, qual, _ = chords_per_beat(cp.astype(np.int64), con, coff, beats, end=end,
                                    bass_weight=chord_bass_weight, min_fit=chord_min_fit)
    cr, cq, cs, ce = _chord_events(root, qual, beats, end)

    emb = embedding(mp, mon, cr, cq, rhythm)
    return TrackFeatures(
        melody_pitch=mp.astype(np.int16), melody_onset=mon.astype(np.float64),
        melody_offset=moff.astype(np.float64), beat_times=beats.astype(np.float64),
        pulse=pulses.astype(np.float64), rhythm_pattern=rhythm.reshape(-1),
        rhythm_onset=r_on.astype(np.float64), rhythm_mask=r_mask,
        has_drums=np.array([drum_p.size > 0]), chord_root=cr.astype(np.int8),
        chord_quality=cq.astype(np.int8), chord_start=cs.astype(np.float64),
        chord_end=ce.astype(np.float64), duration=np.array([end]), embedding=emb,
    )

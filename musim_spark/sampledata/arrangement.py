"""Turn a POP909 song into a six-part arrangement in one of the data set's genres.

Parts (MIDI track names the labels point at): ``Melody`` (POP909 MELODY, the sung line),
``SubMelody`` (POP909 BRIDGE), ``Chord`` (POP909 PIANO comping), ``Bass`` (chord roots),
``Pad`` (sustained chord tones) and ``Rhythm`` (drums from the beat grid). Bass, pad, drums
(and re-arranged comping in covers) follow a :class:`Groove` placed on the song's beats.

Every original draws its own groove (:func:`draw_groove`) from its genre's pool
(:data:`GROOVE_POOLS`: 4-5 base drum patterns, 3-4 bass and comping rhythms, pad styles and a
swing range per genre) with seeded variation: moved or added kicks, ghost snares, another hi-hat
layer, open hi-hat accents, shifted or anticipated bass notes, syncopated comping. So two
originals of a genre rarely share a drum pattern (:func:`drum_steps`, :func:`groove_agreement`),
and "same rhythm" in the covers' truth means the original's own groove, not its genre's.

A pattern is a tuple of events in a 4-beat cycle restarted at every bar line; an event's
position is in beats from the bar line, so it lands on the song's own (possibly uneven) beat
grid. ``swing`` (fraction of a beat) delays the off-beat eighths.

Examples
--------
>>> sorted(GROOVE_POOLS) == sorted(PROGRAMS)
True
>>> all(4 <= len(pool.drums) <= 8 for pool in GROOVE_POOLS.values())
True
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import ParameterError
from ..model import Note, Piece, Track
from .source import SourceSong

__all__ = ["PART_NAMES", "PROGRAMS", "GroovePool", "GROOVE_POOLS", "Groove", "BASS_PATTERNS", "COMP_PATTERNS",
           "PAD_STYLES", "DRUM_CLASSES", "draw_groove", "drum_steps", "groove_agreement", "arrange", "part_notes",
           "make_track", "instrument_name", "replace_span"]

#: Track names in file order; the labels' melodyTrack/rhythmTrack/chordTrack are Melody/Rhythm/Chord.
PART_NAMES = ("Melody", "SubMelody", "Chord", "Bass", "Pad", "Rhythm")
_VOICE = 53  # GM "Voice Oohs": the sung line (instrumentList says "Vocal")

#: GM program per genre and part (Rhythm is channel 10, program = drum kit 0).
PROGRAMS = {
    "Ballade": {"Melody": _VOICE, "SubMelody": 73, "Chord": 0, "Bass": 32, "Pad": 48, "Rhythm": 0},
    "Dance": {"Melody": _VOICE, "SubMelody": 80, "Chord": 4, "Bass": 38, "Pad": 89, "Rhythm": 0},
    "Hiphop": {"Melody": _VOICE, "SubMelody": 11, "Chord": 4, "Bass": 38, "Pad": 50, "Rhythm": 0},
    "RnB": {"Melody": _VOICE, "SubMelody": 65, "Chord": 4, "Bass": 33, "Pad": 48, "Rhythm": 0},
    "Rock": {"Melody": _VOICE, "SubMelody": 29, "Chord": 27, "Bass": 34, "Pad": 30, "Rhythm": 0},
    "Trot": {"Melody": _VOICE, "SubMelody": 66, "Chord": 0, "Bass": 33, "Pad": 21, "Rhythm": 0},
}

#: hi-hat (cymbal) layers of the drum patterns: (beat position, GM drum key, velocity)
_HATS = {
    "h4": tuple((float(p), 42, 45) for p in range(4)),
    "h8": tuple((p / 2, 42, 50 + 10 * (p % 2 == 0)) for p in range(8)),
    "h16": tuple((p / 4, 42, 35 + 12 * (p % 2 == 0)) for p in range(16)),
    "h16skip": tuple((p / 4, 42, 38 + 12 * (p % 2 == 0)) for p in range(16) if p % 4 != 1),
    "r8": tuple((p / 2, 51, 55) for p in range(8)),
    "open": tuple((p + 0.5, 46, 60) for p in range(4)),
    "none": (),
}


def _drums(kicks, snares, hats: str, vel=(100, 82)):
    """A base drum pattern: kick positions (the first one accented), (position, key, velocity) of
    the snare-like hits (and cymbal accents), and the name of its hi-hat layer in ``_HATS``."""
    ev = tuple((float(p), 36, vel[0] if p == 0 else vel[1]) for p in kicks)
    return ev + tuple((float(p), int(k), int(v)) for p, k, v in snares), hats


_BB = ((1, 38, 95), (3, 38, 95))  # backbeat on 2 and 4
_XS = ((1, 37, 55), (3, 37, 55))  # side stick on 2 and 4

#: bass patterns: (beat position, semitones above the root, velocity, duration in beats)
BASS_PATTERNS = {
    "hold": ((0, 0, 90, 1.9), (2, 0, 80, 1.9)),
    "eighths": tuple((p / 2, 0, 80 + 8 * (p % 2 == 0), 0.45) for p in range(8)),
    "octaves": tuple((p / 2, 12 * (p % 2), 85, 0.45) for p in range(8)),
    "rootfifth": ((0, 0, 95, 0.9), (1, 7, 80, 0.9), (2, 0, 95, 0.9), (3, 7, 80, 0.9)),
    "synco": ((0, 0, 95, 0.7), (0.75, 0, 80, 0.5), (1.5, 7, 80, 0.5), (2.5, 0, 85, 0.9), (3.5, 12, 75, 0.4)),
    "walk": ((0, 0, 90, 0.9), (1, 4, 80, 0.9), (2, 7, 85, 0.9), (3, 12, 80, 0.9)),
    "offbeat": tuple((p + 0.5, 0, 85, 0.4) for p in range(4)),
    "dotted": ((0, 0, 95, 1.4), (1.5, 0, 80, 0.9), (2.5, 7, 80, 0.9), (3.5, 0, 75, 0.4)),
    "sparse": ((0, 0, 95, 1.4), (2.5, 0, 80, 1.4)),
}

#: comping patterns for generated Chord/SubMelody parts: (position, tone index or -1 = all, vel, dur)
COMP_PATTERNS = {
    "block": ((0, -1, 70, 1.9), (2, -1, 65, 1.9)),
    "stabs": tuple((p + 0.5, -1, 70, 0.3) for p in range(4)),
    "arp": tuple((p / 2, p % 4, 62, 0.5) for p in range(8)),
    "pulse": tuple((float(p), -1, 62, 0.8) for p in range(4)),
    "offbeat": ((1, -1, 72, 0.6), (3, -1, 72, 0.6)),
    "broken": ((0, 0, 66, 0.9), (1, 1, 60, 0.9), (1.5, 2, 60, 0.4), (2, 3, 62, 0.9), (3, 1, 58, 0.9)),
    "charleston": ((0, -1, 70, 1.4), (1.5, -1, 66, 1.4), (3, -1, 60, 0.9)),
}

_EDGE_S = 1e-3  # onset tolerance at span edges, s

#: pad styles: "hold" sustains each chord (middle voicing), "pulse" re-strikes it every two beats
#: and "beats" every beat, in a higher voicing (so they differ even where chords change every beat)
PAD_STYLES = ("hold", "pulse", "beats")


@dataclasses.dataclass(frozen=True)
class GroovePool:
    """What a genre's grooves are drawn from (names index the pattern tables).

    Attributes
    ----------
    drums : dict
        Base drum patterns: name -> (kick and snare events, hi-hat layer name).
    hats : tuple of str
        Hi-hat layers a variation may switch to.
    bass, comp, pad : tuple of str
        Bass patterns, comping patterns and pad styles of the genre.
    swing : (float, float)
        Range of the off-beat delay (fraction of a beat); (0, 0) is straight.
    """

    drums: dict
    hats: tuple[str, ...]
    bass: tuple[str, ...]
    comp: tuple[str, ...]
    pad: tuple[str, ...]
    swing: tuple[float, float] = (0.0, 0.0)


#: per genre: the pool every original (and every cover that changes the groove) draws from
GROOVE_POOLS = {
    "Ballade": GroovePool(
        {"ballad_a": _drums((0, 2), _XS, "h4", (80, 65)),
         "ballad_b": _drums((0, 2.5), ((1, 38, 60), (3, 38, 60)), "r8", (75, 60)),
         "ballad_c": _drums((0, 1.5), ((2, 38, 62),), "h8", (80, 62)),
         "ballad_d": _drums((0, 2.75), _XS, "h8", (78, 62)),
         "ballad_e": _drums((0, 2, 3.5), ((1, 38, 58), (3, 38, 58)), "h4", (78, 60))},
        ("h4", "h8", "r8"), ("hold", "walk", "sparse", "rootfifth"), ("arp", "broken", "block"),
        ("hold", "pulse")),
    "Dance": GroovePool(
        {"dance_a": _drums((0, 1, 2, 3), ((1, 39, 85), (3, 39, 85)), "open"),
         "dance_b": _drums((0, 1, 2, 3, 3.5), ((1, 38, 90), (3, 38, 90)), "h16"),
         "dance_c": _drums((0, 1, 2, 3), ((1, 38, 88), (3, 38, 88)), "h8"),
         "dance_d": _drums((0, 1, 2, 2.75, 3), ((1, 39, 85), (3, 39, 85)), "h16skip"),
         "dance_e": _drums((0, 0.75, 2, 2.5), ((1, 38, 90), (3, 38, 90)), "open")},
        ("open", "h8", "h16", "h16skip"), ("octaves", "eighths", "offbeat"), ("stabs", "offbeat", "pulse"),
        ("pulse", "hold", "beats")),
    "Hiphop": GroovePool(
        {"hiphop_a": _drums((0, 0.75, 2.5), _BB, "h8"),
         "hiphop_b": _drums((0, 1.5, 2.25), _BB + ((3.75, 38, 40),), "h16"),
         "hiphop_c": _drums((0, 0.5, 1.75, 2.5), ((1, 39, 92), (3, 39, 92)), "h8"),
         "hiphop_d": _drums((0, 2.25, 2.75), _BB, "h16skip"),
         "hiphop_e": _drums((0, 1.25, 2.5, 3.25), _BB, "h4")},
        ("h8", "h16", "h16skip", "h4"), ("synco", "sparse", "hold", "dotted"), ("offbeat", "stabs", "block"),
        ("hold", "pulse"), (0.04, 0.14)),
    "RnB": GroovePool(
        {"rnb_a": _drums((0, 0.5, 2.75), ((1, 38, 80), (3, 38, 80)), "h16", (90, 65)),
         "rnb_b": _drums((0, 2, 2.5), ((1, 37, 70), (3, 37, 70)), "h8", (90, 68)),
         "rnb_c": _drums((0, 1.75, 2.5), ((1, 38, 80), (3, 38, 80)), "h16", (90, 70)),
         "rnb_d": _drums((0, 0.75, 2, 3.5), ((1, 38, 78), (3, 38, 78)), "r8", (90, 66))},
        ("h8", "h16", "r8", "h16skip"), ("synco", "walk", "dotted", "sparse"), ("broken", "block", "charleston"),
        ("pulse", "hold"), (0.03, 0.12)),
    "Rock": GroovePool(
        {"rock_a": _drums((0, 2, 2.5), ((1, 38, 105), (3, 38, 105), (0, 49, 70)), "h8", (105, 85)),
         "rock_b": _drums((0, 0.5, 2, 2.5), ((1, 38, 105), (3, 38, 105)), "r8", (105, 85)),
         "rock_c": _drums((0, 1.5, 2), ((1, 38, 105), (3, 38, 105)), "h8", (105, 90)),
         "rock_d": _drums((0, 2, 3.5), ((1, 38, 100), (3, 38, 100)), "h4", (105, 85)),
         "rock_e": _drums((0, 0.5, 1.5, 2), ((1, 38, 105), (3, 38, 105)), "h16skip", (105, 85))},
        ("h8", "r8", "h4", "h16skip"), ("eighths", "rootfifth", "octaves", "dotted"), ("block", "pulse", "charleston"),
        ("hold", "pulse")),
    "Trot": GroovePool(
        {"trot_a": _drums((0, 2), ((1, 38, 80), (3, 38, 80)), "open", (95, 90)),
         "trot_b": _drums((0, 1, 2, 3), tuple((p + 0.5, 38, 70) for p in range(4)), "none", (90, 90)),
         "trot_c": _drums((0, 2, 2.5), ((1, 38, 80), (3, 38, 80)), "h8", (95, 80)),
         "trot_d": _drums((0, 1.5, 2), ((1, 38, 78), (3, 38, 78)), "open", (95, 80))},
        ("open", "h8", "h4"), ("rootfifth", "octaves", "walk"), ("offbeat", "arp", "pulse"), ("hold", "pulse")),
}

#: GM drum keys per class, as :func:`drum_steps` compares them: kick, snare-like (snare, side
#: stick, clap), cymbals (hi-hats, ride, crash)
DRUM_CLASSES = ((35, 36), (37, 38, 39, 40), (42, 44, 46, 49, 51, 52, 53, 55, 57, 59))
_STEPS = 16  # sixteenth steps of a 4-beat bar

_KICK_SPOTS = (0.5, 0.75, 1.5, 1.75, 2.5, 2.75, 3.25, 3.5, 3.75)  # syncopated spots for added kicks
_GHOST_SPOTS = (0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75)  # off-beat sixteenths for ghost snares
_DRUM_VARIATIONS = ("move_kick", "add_kick", "ghosts", "hats", "open_hat")
_BASS_VARIATION_P = 0.6  # share of originals whose bass pattern is varied
_COMP_VARIATION_P = 0.5  # share of originals whose comping is syncopated
_GAP_BEATS = 0.05  # a varied bass/comp note ends this long before the next event (no same-pitch overlap)


@dataclasses.dataclass(frozen=True)
class Groove:
    """How an arrangement fills its generated parts: the concrete patterns of one original.

    Attributes
    ----------
    genre : str
    drums : tuple of (position, GM drum key, velocity)
    bass : tuple of (position, semitones above the root, velocity, duration in beats)
    comp : tuple of (position, tone index or -1 = all, velocity, duration in beats)
    pad : str
        One of :data:`PAD_STYLES`.
    swing : float
        Delay of the off-beat eighths, fraction of a beat.
    recipe : tuple of str
        How it was drawn: base pattern names and every variation (for the truth table).
    """

    genre: str
    drums: tuple
    bass: tuple
    comp: tuple
    pad: str
    swing: float = 0.0
    recipe: tuple[str, ...] = ()

    def describe(self) -> dict:
        """JSON-able summary (the truth table's ``params.groove``)."""
        return {"genre": self.genre, "recipe": list(self.recipe), "swing": round(float(self.swing), 4)}


def _free(events, spots, keys) -> list[float]:
    taken = {float(e[0]) for e in events if e[1] in keys}
    return [float(p) for p in spots if float(p) not in taken]


def _vary_drums(events: list, hats: str, pool: GroovePool, rng: np.random.Generator, recipe: list) -> tuple:
    """One to three of: a kick moved by a sixteenth or an eighth, a syncopated kick added, ghost
    snares, another hi-hat layer, an open hi-hat accent."""
    kick, snare = DRUM_CLASSES[0], DRUM_CLASSES[1]
    chosen = set(rng.choice(_DRUM_VARIATIONS, size=int(rng.integers(1, 4)), replace=False).tolist())
    if "move_kick" in chosen:
        movable = [e for e in events if e[1] in kick and e[0] != 0]
        if movable:
            e = movable[int(rng.integers(len(movable)))]
            taken = {x[0] for x in events if x[1] in kick}
            to = [e[0] + d for d in (-0.5, -0.25, 0.25, 0.5) if 0 < e[0] + d < 4 and e[0] + d not in taken]
            if to:
                new = float(rng.choice(to))
                events[events.index(e)] = (new, e[1], e[2])
                recipe.append(f"kick {e[0]:g}>{new:g}")
    if "add_kick" in chosen:
        free = _free(events, _KICK_SPOTS, kick)
        if free:
            p = float(rng.choice(free))
            events.append((p, 36, int(rng.integers(66, 86))))
            recipe.append(f"kick +{p:g}")
    if "ghosts" in chosen:
        free = _free(events, _GHOST_SPOTS, snare)
        k = min(len(free), int(rng.integers(1, 4)))
        if k:
            spots = sorted(float(p) for p in rng.choice(free, size=k, replace=False))
            events.extend((p, 38, int(rng.integers(25, 41))) for p in spots)
            recipe.append("ghost " + ",".join(f"{p:g}" for p in spots))
    if "hats" in chosen:
        others = [h for h in pool.hats if h != hats]
        if others:
            hats = str(rng.choice(others))
            recipe.append(f"hats:{hats}")
    layer = list(_HATS[hats])
    if "open_hat" in chosen:
        p = float(rng.choice([0.5, 1.5, 2.5, 3.5]))
        layer = [e for e in layer if e[0] != p] + [(p, 46, 62)]
        recipe.append(f"open {p:g}")
    return tuple(sorted(events + layer))


def _fit(events) -> tuple:
    """Shorten (position, x, vel, dur) events so each ends before the next one starts (cyclically)."""
    ev = sorted(events)
    pos = sorted({e[0] for e in ev})
    out = []
    for e in ev:
        nxt = next((p for p in pos if p > e[0]), pos[0] + 4)
        out.append((e[0], e[1], e[2], round(min(e[3], nxt - e[0] - _GAP_BEATS), 4)))
    return tuple(out)


def _vary_bass(events: list, rng: np.random.Generator, recipe: list) -> tuple:
    """Shift one note by a sixteenth or an eighth, add an anticipation before the bar line, or drop a note."""
    kind = str(rng.choice(["shift", "anticipate", "drop"]))
    movable = [e for e in events if e[0] != 0]
    taken = {e[0] for e in events}
    if kind == "shift" and movable:
        e = movable[int(rng.integers(len(movable)))]
        to = [e[0] + d for d in (-0.5, -0.25, 0.25, 0.5) if 0 < e[0] + d < 4 and e[0] + d not in taken]
        if to:
            new = float(rng.choice(to))
            events[events.index(e)] = (new,) + tuple(e[1:])
            recipe.append(f"bass {e[0]:g}>{new:g}")
    elif kind == "anticipate" and 3.5 not in taken:
        events.append((3.5, int(rng.choice([0, 12])), 75, 0.45))
        recipe.append("bass +3.5")
    elif kind == "drop" and len(movable) >= 2:
        e = movable[int(rng.integers(len(movable)))]
        events.remove(e)
        recipe.append(f"bass -{e[0]:g}")
    return _fit(events)


def _vary_comp(events: list, rng: np.random.Generator, recipe: list) -> tuple:
    """Syncopated comping: anticipate one hit by an eighth, or add an off-beat stab."""
    taken = {e[0] for e in events}
    if rng.random() < 0.5:
        early = [e for e in events if e[0] >= 0.5 and e[0] - 0.5 not in taken]
        if early:
            e = early[int(rng.integers(len(early)))]
            events = [x if x is not e else (e[0] - 0.5,) + tuple(e[1:]) for x in events]
            recipe.append(f"comp {e[0]:g}>{e[0] - 0.5:g}")
            return _fit(events)
    free = [p for p in (0.5, 1.5, 2.5, 3.5) if p not in taken]
    if free:
        p = float(rng.choice(free))
        events.append((p, -1, 64, 0.3))
        recipe.append(f"comp +{p:g}")
    return _fit(events)


def draw_groove(genre: str, rng: np.random.Generator | None = None) -> Groove:
    """Draw a groove from ``genre``'s pool (:data:`GROOVE_POOLS`) with seeded variation.

    Parameters
    ----------
    genre : str
        One of the data set's genres.
    rng : numpy Generator, optional
        All choices (base patterns, variations, swing). None: the genre's first patterns, no
        variation, the least swing (a fixed reference groove).

    Returns
    -------
    Groove

    Raises
    ------
    ParameterError
        For an unknown genre.

    Examples
    --------
    >>> g = draw_groove("Trot")
    >>> g.recipe
    ('drums:trot_a', 'bass:rootfifth', 'comp:offbeat', 'pad:hold')
    >>> draw_groove("Trot", np.random.default_rng(3)) == draw_groove("Trot", np.random.default_rng(3))
    True
    """
    if genre not in GROOVE_POOLS:
        raise ParameterError(f"unknown genre {genre!r}; one of {sorted(GROOVE_POOLS)}")
    pool = GROOVE_POOLS[genre]
    names = list(pool.drums)
    if rng is None:
        drum_name, bass_name, comp_name, pad = names[0], pool.bass[0], pool.comp[0], pool.pad[0]
        events, hats = pool.drums[drum_name]
        recipe = [f"drums:{drum_name}", f"bass:{bass_name}", f"comp:{comp_name}", f"pad:{pad}"]
        return Groove(genre, tuple(sorted(events + _HATS[hats])), BASS_PATTERNS[bass_name],
                      COMP_PATTERNS[comp_name], pad, pool.swing[0], tuple(recipe))
    drum_name = str(rng.choice(names))
    recipe = [f"drums:{drum_name}"]
    events, hats = pool.drums[drum_name]
    drums = _vary_drums(list(events), hats, pool, rng, recipe)
    bass_name = str(rng.choice(pool.bass))
    recipe.append(f"bass:{bass_name}")
    bass = BASS_PATTERNS[bass_name]
    if rng.random() < _BASS_VARIATION_P:
        bass = _vary_bass(list(bass), rng, recipe)
    comp_name = str(rng.choice(pool.comp))
    recipe.append(f"comp:{comp_name}")
    comp = COMP_PATTERNS[comp_name]
    if rng.random() < _COMP_VARIATION_P:
        comp = _vary_comp(list(comp), rng, recipe)
    pad = str(rng.choice(pool.pad))
    recipe.append(f"pad:{pad}")
    lo, hi = pool.swing
    swing = round(float(rng.uniform(lo, hi)), 4) if hi > lo else float(lo)
    return Groove(genre, drums, tuple(bass), tuple(comp), pad, swing, tuple(recipe))


def drum_steps(notes, song: SourceSong, *, span: tuple[float, float] | None = None) -> np.ndarray:
    """The drum pattern of ``notes`` on ``song``'s bar grid.

    Each onset is put on the nearest sixteenth of its bar (swing of up to an eighth of a beat
    stays on its step); a cell (class of :data:`DRUM_CLASSES`, step) is in the pattern when at
    least half the bars have an onset there.

    Parameters
    ----------
    notes : sequence of Note
        Drum notes (GM keys), times in s on ``song``'s timeline.
    song : SourceSong
        Gives the beat grid and bar lines.
    span : (float, float), optional
        Only the bars that start and end inside ``[t0, t1)`` (s).

    Returns
    -------
    np.ndarray [shape=(3, 16), dtype=bool]
    """
    beats, lengths, in_bar = _grid(song)
    bar = np.cumsum(in_bar == 0) - 1
    n_bars = int(bar[-1]) + 1
    keep = np.ones(n_bars, dtype=bool)
    if span is not None:
        t0, t1 = span
        for b in range(n_bars):
            idx = np.flatnonzero(bar == b)
            keep[b] = beats[idx[0]] >= t0 - _EDGE_S and beats[idx[-1]] + lengths[idx[-1]] <= t1 + _EDGE_S
    occ = np.zeros((n_bars, len(DRUM_CLASSES), _STEPS), dtype=bool)
    cls = {k: c for c, keys in enumerate(DRUM_CLASSES) for k in keys}
    for n in notes:
        i = int(np.searchsorted(beats, n.start + 1e-9, side="right")) - 1
        if i < 0 or n.pitch not in cls:
            continue
        step = int(np.floor((in_bar[i] % 4 + (n.start - beats[i]) / lengths[i]) * 4 + 0.5))
        if step < _STEPS:  # a late onset of a bar's last beat belongs to the next bar's step 0
            occ[bar[i], cls[n.pitch], step] = True
        elif bar[i] + 1 < n_bars:
            occ[bar[i] + 1, cls[n.pitch], 0] = True
    if not keep.any():
        return np.zeros((len(DRUM_CLASSES), _STEPS), dtype=bool)
    return occ[keep].mean(axis=0) >= 0.5


def groove_agreement(p: np.ndarray, q: np.ndarray) -> float:
    """Agreement of two :func:`drum_steps` patterns: the mean over drum classes of the Jaccard
    index of their steps (a class empty in both counts as 1). 1.0 for the same pattern.

    Examples
    --------
    >>> p = np.zeros((3, 16), bool); p[0, [0, 8]] = p[1, [4, 12]] = p[2, ::2] = True
    >>> q = p.copy(); q[0, 10] = True
    >>> groove_agreement(p, p), round(groove_agreement(p, q), 3)
    (1.0, 0.889)
    """
    vals = []
    for a, b in zip(np.asarray(p, bool), np.asarray(q, bool)):
        union = int((a | b).sum())
        vals.append(1.0 if union == 0 else int((a & b).sum()) / union)
    return float(np.mean(vals))


def instrument_name(program: int, is_drum: bool) -> str:
    """The instrumentList name: ``Vocal`` for the voice patch, ``Drums`` for channel 10, else GM."""
    import pretty_midi

    if is_drum:
        return "Drums"
    if program in (52, 53, 54):
        return "Vocal"
    return pretty_midi.program_to_instrument_name(int(program))


def _grid(song: SourceSong):
    """Per beat: time (s), length (s) and index in the bar."""
    beats = np.asarray(song.beats, dtype=np.float64)
    if len(beats) < 2:
        step = 60.0 / song.tempo_bpm
        beats = np.arange(0.0, max(song.duration, step) + step, step)
        down = np.arange(len(beats)) % 4 == 0
    else:
        down = np.asarray(song.downbeats, dtype=bool)
    lengths = np.diff(beats)
    lengths = np.append(lengths, np.median(lengths))
    # extend the grid to the song's end so the last bars get parts too
    while beats[-1] + lengths[-1] < song.duration:
        beats = np.append(beats, beats[-1] + lengths[-1])
        lengths = np.append(lengths, lengths[-1])
        down = np.append(down, False)
    in_bar = np.zeros(len(beats), dtype=np.int64)
    k = 0
    for i in range(len(beats)):
        k = 0 if (down[i] or i == 0) else k + 1
        in_bar[i] = k
    return beats, lengths, in_bar


def _event_times(song: SourceSong, pattern, swing: float):
    """Yield (time s, beat length s, event) for every pattern event on the song's grid."""
    beats, lengths, in_bar = _grid(song)
    for i in range(len(beats)):
        k = in_bar[i] % 4
        for ev in pattern:
            pos = float(ev[0])
            if k <= pos < k + 1:
                frac = pos - k
                if abs(frac - 0.5) < 1e-9:
                    frac += swing
                yield float(beats[i] + frac * lengths[i]), float(lengths[i]), ev


def _chord_at(song: SourceSong, t: float):
    for c in song.chords:
        if c.start - 1e-6 <= t < c.end:
            return c
    return None


def _voicing(root: int, intervals, base: int = 52) -> list[int]:
    low = base + (root - base) % 12
    return [low + iv for iv in intervals[:4]]


def part_notes(part: str, song: SourceSong, groove: Groove, *, rng: np.random.Generator | None = None) -> list[Note]:
    """Generate one part (``Bass``, ``Pad``, ``Rhythm``, ``Chord`` or ``SubMelody``) for the whole song
    in ``groove``.

    Returns notes in seconds; velocities get a small seeded jitter when ``rng`` is given.

    Raises
    ------
    ParameterError
        For a part that is not generated.
    """
    notes: list[Note] = []
    end_of_song = song.duration

    def add(pitch, start, dur, vel):
        end = min(start + dur, end_of_song)
        if start < end_of_song and end - start > 0.01 and 0 <= pitch <= 127:
            v = int(vel + (rng.integers(-6, 7) if rng is not None else 0))
            notes.append(Note(int(pitch), round(start, 6), round(end, 6), max(1, min(127, v))))

    if part == "Rhythm":
        for t, _, (pos, key, vel) in _event_times(song, groove.drums, groove.swing):
            add(key, t, 0.1, vel)
    elif part == "Bass":
        for t, bl, (pos, deg, vel, dur) in _event_times(song, groove.bass, groove.swing):
            c = _chord_at(song, t)
            if c is None or c.root is None:
                continue
            add(33 + (c.root - 33) % 12 + deg, t, dur * bl, vel)
    elif part in ("Chord", "SubMelody"):
        base = 55 if part == "Chord" else 67
        for t, bl, (pos, idx, vel, dur) in _event_times(song, groove.comp, groove.swing):
            c = _chord_at(song, t)
            if c is None or c.root is None:
                continue
            tones = _voicing(c.root, c.intervals, base)
            chosen = tones if idx < 0 else [tones[idx % len(tones)]]
            for p in chosen:
                add(p, t, dur * bl, vel if part == "Chord" else vel + 8)
    elif part == "Pad":
        beats, lengths, _ = _grid(song)
        for c in song.chords:
            if c.root is None:
                continue
            if groove.pad in ("pulse", "beats"):
                tones = _voicing(c.root, c.intervals[:3], 67)
                step = (2 if groove.pad == "pulse" else 1) * float(np.median(lengths))
                t = c.start
                while t < c.end - 0.05:
                    for p in tones:
                        add(p, t, min(step, c.end - t) * 0.95, 55)
                    t += step
            else:
                for p in _voicing(c.root, c.intervals[:3], 60):
                    add(p, c.start, (c.end - c.start) * 0.98, 50)
    else:
        raise ParameterError(f"part {part!r} is not generated (one of Rhythm, Bass, Chord, SubMelody, Pad)")
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes


def make_track(name: str, notes, program: int) -> Track:
    """A Track with the role its name implies (Melody/Rhythm/Chord)."""
    role = {"Melody": "melody", "Rhythm": "rhythm", "Chord": "chord"}.get(name, "other")
    return Track(name, tuple(notes), int(program), name == "Rhythm", role)


def replace_span(old, new, t0: float, t1: float) -> list[Note]:
    """Notes of ``old`` outside ``[t0, t1)`` (onset-wise) plus notes of ``new`` with onsets inside.

    Old notes that start before ``t0`` and ring into the span are cut at ``t0``. Onsets within
    1 ms before ``t0`` count as inside (chord and beat annotations disagree by microseconds).
    """
    t0 = t0 - _EDGE_S
    out = []
    for n in old:
        if n.start < t0:
            end = min(n.end, t0)
            if end - n.start > 1e-3:
                out.append(dataclasses.replace(n, end=round(end, 6)) if end != n.end else n)
        elif n.start >= t1:
            out.append(n)
    for n in new:
        if t0 <= n.start < t1:
            out.append(dataclasses.replace(n, end=round(min(n.end, t1), 6)) if n.end > t1 else n)
    out.sort(key=lambda n: (n.start, n.pitch))
    return out


def arrange(song: SourceSong, genre: str, *, rng: np.random.Generator | None = None,
            groove: Groove | None = None) -> Piece:
    """The original's arrangement: POP909 Melody/SubMelody/Chord plus generated Bass, Pad, Rhythm.

    Parameters
    ----------
    song : SourceSong
        Already cropped/transposed.
    genre : str
        One of the data set's genres; picks programs and the groove pool.
    rng : numpy Generator, optional
        The original's own groove (:func:`draw_groove`, drawn first) and the velocity jitter of
        the generated parts (seeded by the caller). None: the genre's reference groove, no jitter.
    groove : Groove, optional
        Use this groove instead of drawing one.

    Returns
    -------
    Piece
        Six tracks in :data:`PART_NAMES` order, ``tempo_bpm`` the song's.
    """
    groove = groove if groove is not None else draw_groove(genre, rng)
    prog = PROGRAMS[genre]
    # no BRIDGE in this stretch: a counter-line from the groove's own comping pattern (covers
    # that re-arrange draw another groove, with another one)
    sub = list(song.bridge.notes) or part_notes("SubMelody", song, groove, rng=rng)
    tracks = [
        make_track("Melody", song.melody.notes, prog["Melody"]),
        make_track("SubMelody", sub, prog["SubMelody"]),
        make_track("Chord", song.piano.notes or part_notes("Chord", song, groove, rng=rng), prog["Chord"]),
        make_track("Bass", part_notes("Bass", song, groove, rng=rng), prog["Bass"]),
        make_track("Pad", part_notes("Pad", song, groove, rng=rng), prog["Pad"]),
        make_track("Rhythm", part_notes("Rhythm", song, groove, rng=rng), prog["Rhythm"]),
    ]
    return Piece(tuple(tracks), float(song.tempo_bpm), None)

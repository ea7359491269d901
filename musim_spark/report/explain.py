"""One sentence per facet that a musician can check against the page.

Each sentence says how much of A matches (the facet's sections over A's length), what differs
where it can tell (changed notes, other chords), and why the score is what it is: the facet's
raw score is ``-log10 P`` of its best alignment given both lengths
(:mod:`musim_spark.similarity.significance`), i.e. how rarely unrelated songs align as well,
and the 0-100 score puts the facet's decision threshold at 50. A facet that cannot be computed
says so ("not enough material") with the facet's own reason.

Examples
--------
>>> coverage([(0.0, 10.0), (5.0, 20.0)], 40.0)
0.5
>>> chance_phrase(2.0), chance_phrase(7.5)
('about 1 unrelated pair in 100 aligns this well', 'fewer than 1 unrelated pair in a million aligns this well')
"""

from __future__ import annotations

import math
from collections import Counter

from ..similarity.facet import FacetResult

__all__ = ["coverage", "chance_phrase", "score_phrase", "melody_sentence", "rhythm_sentence", "chord_sentence",
           "signed_semitones"]


def coverage(intervals, length: float) -> float:
    """Share (0-1) of ``[0, length]`` covered by the union of ``(start, end)`` intervals (s)."""
    if length <= 0:
        return 0.0
    iv = sorted((max(s, 0.0), min(e, length)) for s, e in intervals if e > s)
    total, cur_s, cur_e = 0.0, None, None
    for s, e in iv:
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return min(total / length, 1.0)


def chance_phrase(raw: float) -> str:
    """How rarely unrelated pairs align as well, from a raw score ``-log10 P``."""
    if not math.isfinite(raw):
        return "its chance level is unknown"
    if raw >= 6:
        return "fewer than 1 unrelated pair in a million aligns this well"
    if raw >= 1:
        return f"about 1 unrelated pair in {10 ** raw:,.0f} aligns this well"
    return f"unrelated pairs often align this well (P = {10 ** -raw:.2f})"


def score_phrase(f: FacetResult) -> str:
    """``"score 78 (above the threshold of 50) because ..."``."""
    side = "above" if f.score >= 50 else "below"
    return f"score {f.score:.0f} ({side} the threshold of 50) because {chance_phrase(f.raw_score)}"


def signed_semitones(shift: int) -> str:
    """``"3 semitones higher"``, ``"1 semitone lower"``, ``"in the same key"`` (B against A)."""
    if shift == 0:
        return "at the same pitch"
    n = abs(shift)
    return f"{n} semitone{'s' if n != 1 else ''} {'lower' if shift > 0 else 'higher'}"


def _missing(name: str, f: FacetResult) -> str:
    reason = f.reason or "cannot be computed"
    return f"{name.capitalize()}: not enough material to judge ({reason})."


def melody_sentence(f: FacetResult, match, length_a: float) -> str:
    """The melody facet's sentence.

    Parameters
    ----------
    f : FacetResult
    match : NoteMatch
        Matched notes (:func:`.warp.matched_notes`).
    length_a : float
        A's duration (s).
    """
    if not math.isfinite(f.score):
        return _missing("melody", f)
    cov = coverage([(s.start_ms / 1000, s.end_ms / 1000) for s in f.sections], length_a)
    if match.n_matched == 0:
        return (f"No stretch of the melodies matches beyond chance: the best alignment covers {f.share:.0f} % of "
                f"the shorter line; {score_phrase(f)}.")
    same = int(match.same.sum())
    diff = match.n_matched - same
    n_sec = len(f.sections)
    where = (f"the melodies match over {cov:.0%} of A ({n_sec} section{'s' if n_sec != 1 else ''}, "
             f"{match.n_matched} aligned notes, B {signed_semitones(match.shift)})")
    rest = (f"{diff} aligned note{'s' if diff != 1 else ''} differ in pitch (ornaments, changed notes or "
            f"transcription slips)" if diff else "every aligned note is the same after the key shift")
    return f"{where[0].upper()}{where[1:]}; {rest}; {score_phrase(f)}."


def rhythm_sentence(f: FacetResult, length_a: float) -> str:
    """The rhythm facet's sentence (sections over A, aligned share, score)."""
    if not math.isfinite(f.score):
        return _missing("rhythm", f)
    cov = coverage([(s.start_ms / 1000, s.end_ms / 1000) for s in f.sections], length_a)
    if not f.sections:
        return (f"No stretch of the beat patterns matches beyond chance: the best alignment reaches {f.share:.0f} % "
                f"of the shorter song's match with itself; {score_phrase(f)}.")
    return (f"The beat-by-beat onset patterns (drums, comping, melody rhythm) match over {cov:.0%} of A; "
            f"{score_phrase(f)}.")


def chord_sentence(f: FacetResult, cells, key_a: str, key_b: str) -> str:
    """The chord facet's sentence, with the agreement beat by beat of the aligned chord rows.

    Parameters
    ----------
    f : FacetResult
    cells : list of ChordCell
        :func:`.chords.chord_rows`.
    key_a, key_b : str
        Key names of A and B.
    """
    if not math.isfinite(f.score):
        return _missing("chords", f)
    beats = Counter()
    diffs = Counter()
    for c in cells:
        beats[c.agreement] += c.beats
        if c.agreement == "differs":
            diffs[c.names()] += c.beats
    total = sum(beats.values()) - beats["none"]
    if total == 0:
        return f"No beat has a chord in both songs; {score_phrase(f)}."
    same = beats["same"] / total
    near = beats["near"] / total
    text = f"Chords match on {same:.0%} of the beats where both songs have one (A in {key_a}, B in {key_b})"
    if near >= 0.01:
        text += f", {near:.0%} are near misses (same root or a relative chord)"
    if diffs:
        (ca, cb), k = diffs.most_common(1)[0]
        text += f"; the rest differs, most often {cb} in B where A plays {ca} ({k} beat{'s' if k != 1 else ''})"
    return f"{text}; {score_phrase(f)}."

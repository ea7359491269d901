"""Chord similarity: key-invariant local alignment of chord sequences, scored by information and significance.

Chords are estimated per tracked beat (triad templates on duration-weighted chroma, bass
emphasised; :func:`.features.chords_per_beat` on :func:`.features.pulse_grid`, which follows the
notes' tempo, not the file's tempo map) from the label's chord track, else the accompaniment, and
runs of equal chords become chord events. Two event sequences are aligned after each of the
``n_transpositions`` best key shifts (chord-tone histogram correlation); events are compared by
root and quality only (not duration), so a tempo change, global or partial, changes nothing but
the section times.

Two events are compared by the **information** their agreement carries (:mod:`.logodds`): the
log-likelihood ratio of "copied" against "independent", the chords' probabilities taken from a
Markov chain of the pair's own chord sequences (the chord that a four-chord loop brings next earns
little, a song's own turn earns much), with a noise channel for estimation errors (same root other
quality ``chord_same_root_prob``, a relative or mediant triad, two shared tones,
``chord_related_prob``, any other ``chord_other_prob``). The best local alignment score is read against what unrelated songs of
the same lengths reach (Karlin-Altschul statistics fitted on unrelated POP909 material,
``chord_null_*``; :mod:`.significance`): the raw score is ``-log10 P``, so a 20 s copy of a song is
as clearly similar as a whole one (its few events all agree), where the share of the shorter song
read against a cohort of 120 s songs scored a 20 s exact copy 0.05-55.

References
----------
.. [1] Lerdahl, F. (2001). Tonal Pitch Space. Oxford University Press.
.. [2] de Haas, W. B., Veltkamp, R. C., Wiering, F. (2008). Tonal pitch step distance: a similarity
       measure for chord progressions. Proc. ISMIR 2008, 51-56.
.. [3] Müller, M. (2015). Fundamentals of Music Processing, ch. 5 (template-based chord
       recognition) and ch. 7 (key-invariant chroma alignment). Springer.
.. [4] Karlin, S., Altschul, S. F. (1990). Methods for assessing the statistical significance of
       molecular sequence features by using general scoring schemes. PNAS 87(6), 2264-2268.

Deviations from TPSD [2]_
-------------------------
1. A noise channel with three levels (same triad / same root / two shared tones) stands in for
   the Tonal Pitch Space distance; only major and minor triads are estimated.
2. Local alignment with affine gaps over chord-change events instead of the area between two
   step functions over the whole piece: partial covers and tempo changes are handled.
3. Key invariance by trying the best key shifts rather than by expressing chords relative to an
   estimated global key (a wrong key estimate then costs nothing).
4. Agreement scored by its information against the pair's own chord statistics, the alignment by
   its significance given both lengths.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import ParameterError
from ..notation import pitch_class_name
from .facet import FacetResult, nan_result
from .features import TrackFeatures
from .logodds import aligned_result, joint_contexts, pair_logodds, sequence_contexts
from .settings import SimilaritySettings
from .significance import NullModel

__all__ = ["validate", "chord_similarity", "chord_matrices", "chord_tone_histogram", "chord_name", "chord_channel",
           "chord_null_model", "N_CHORDS"]

#: Chord symbols: 12 major triads (root), then 12 minor ones (12 + root).
N_CHORDS = 24


def chord_name(root: int, quality: int) -> str:
    """'C', 'Am', 'C#', ... ('N' for no chord; roots spelt as :func:`musim_spark.notation.pitch_class_name`'s
    ``"chord"`` spelling)."""
    return "N" if root < 0 else pitch_class_name(root, spelling="chord") + ("m" if quality == 1 else "")


def validate(fa: TrackFeatures, fb: TrackFeatures) -> None:
    """Raise ParameterError for malformed chord events (length mismatch, bad roots, bad times)."""
    for name, f in (("A", fa), ("B", fb)):
        # a track found well-formed once is not checked again (the sweep: every pair of a task)
        f.derived(("chord", "valid"), lambda: _check(name, f))


def _check(name: str, f: TrackFeatures) -> bool:
    r, q, st, en = f.chord_root, f.chord_quality, f.chord_start, f.chord_end
    if not (r.shape == q.shape == st.shape == en.shape):
        raise ParameterError(f"chords of {name}: field lengths differ")
    if r.size and (r.min() < 0 or r.max() > 11 or q.min() < 0 or q.max() > 1):
        raise ParameterError(f"chords of {name}: root outside 0-11 or quality outside 0-1")
    if np.any(en < st) or not np.all(np.isfinite(st)):
        raise ParameterError(f"chords of {name}: an event ends before it starts / non-finite")
    return True


def chord_null_model(settings: SimilaritySettings) -> NullModel:
    """The fitted chance model of the chord scoring scheme (settings ``chord_null_*``)."""
    s = settings
    return NullModel(lam=s.chord_null_lambda, k=s.chord_null_k, lam_short=s.chord_null_lambda_short,
                     k_short=s.chord_null_k_short, power=s.chord_null_power)


def chord_tone_histogram(root, quality, start, end) -> np.ndarray:
    """Duration-weighted histogram [shape=(12,)] of the chord tones of a chord-event sequence."""
    h = np.zeros(12)
    if root.size == 0:
        return h
    w = np.minimum(end - start, 8.0)
    third = np.where(quality == 1, 3, 4)
    for iv in (np.zeros_like(third), third, np.full_like(third, 7)):
        np.add.at(h, (root.astype(np.int64) + iv) % 12, w)
    return h


def chord_channel(same_root: float, related: float, other: float) -> np.ndarray:
    """Noise channel ``C(x, y)`` [shape=(24, 24)]: how likely a copied triad x is estimated as y.

    Same root, other quality: ``same_root``; each of the two triads sharing two tones with x (for
    a major triad the relative minor a minor third below and the mediant minor a major third
    above; for a minor triad their mirrors): ``related``; each of the 20 other triads: ``other``;
    x itself: the rest, ``1 - same_root - 2 related - 20 other``.

    Examples
    --------
    >>> C = chord_channel(0.08, 0.05, 0.003)
    >>> round(float(C[0].sum()), 6), round(float(C[0, 0]), 3), float(C[0, 12 + 9])   # C major: A minor related
    (1.0, 0.76, 0.05)
    """
    own = 1.0 - same_root - 2.0 * related - 20.0 * other
    if min(same_root, related, other) < 0 or own <= max(same_root, related, other):
        raise ParameterError(f"chord channel needs probabilities >= 0 that leave the chord itself the most likely, "
                             f"got same_root {same_root}, related {related}, other {other}")
    C = np.full((N_CHORDS, N_CHORDS), float(other))
    for x in range(N_CHORDS):
        r, q = x % 12, x // 12
        C[x, r + 12 * (1 - q)] = same_root
        for y in ([12 + (r + 9) % 12, 12 + (r + 4) % 12] if q == 0 else [(r + 3) % 12, (r + 8) % 12]):
            C[x, y] = related
        C[x, x] = own
    return C


def chord_similarity(fa: TrackFeatures, fb: TrackFeatures, *, settings: SimilaritySettings) -> FacetResult:
    """Chord significance and matching sections of query ``fa`` against original ``fb``.

    Returns
    -------
    FacetResult
        ``raw_score`` (and ``score``, until calibrated) = ``-log10 P`` of the best alignment (the
        ``n_transpositions`` key shifts counted as tries); ``share`` = its aligned share of the
        shorter sequence's self-match (0-100); ``transposition`` = the key shift used. NaN with a
        ``reason`` when either side has fewer than ``min_chord_events`` chord events.

    References
    ----------
    See the module docstring ([1]_-[4]_, and its list of deviations from TPSD).
    """
    validate(fa, fb)
    s = settings
    na, nb = fa.chord_root.shape[0], fb.chord_root.shape[0]
    for side, n in (("A", na), ("B", nb)):
        if n < s.min_chord_events:
            return nan_result(f"chords of {side}: {n} chord event{'s' if n != 1 else ''}; "
                              f"at least {s.min_chord_events} are needed")
    mats, self_score = _matrices(_side(fa), _side(fb), settings=s)
    return aligned_result(
        mats, self_score=self_score, len_a=na, len_b=nb, null=chord_null_model(s),
        gap_open=s.chord_gap_open, gap_extend=s.chord_gap_extend, max_alignments=s.max_alignments,
        extra_min_fraction=s.extra_alignment_min_fraction, sections_min_significance=s.chord_sections_min_significance,
        a_start=fa.chord_start, b_start=fb.chord_start, a_end=float(fa.duration[0]), b_end=float(fb.duration[0]),
        merge_gap_ms=s.merge_gap_ms, min_section_ms=s.min_section_ms, a_stop=fa.chord_end, b_stop=fb.chord_end)


def chord_matrices(ra, qa, sa, ea, rb, qb, sb, eb, *, settings: SimilaritySettings, n_transpositions: int | None = None
                   ) -> tuple[list, float]:
    """Log-odds substitution matrices of two chord-event sequences, one per candidate key shift.

    Parameters
    ----------
    ra, qa, sa, ea, rb, qb, sb, eb : np.ndarray
        Root, quality, start and end of each side's chord events.
    settings : SimilaritySettings
    n_transpositions : int, optional
        Key shifts tried (default ``settings.n_transpositions``): the best chord-tone histogram
        correlations.

    Returns
    -------
    (list of (int, (table, ia, ib), dict), float)
        ``(shift, factored matrix, {})`` per key shift, best correlation first (for
        :func:`.logodds.aligned_result`; ``S = table[ia[:, None], ib[None, :]]``), and the self-match
        score of the shorter sequence.
    """
    return _matrices(_Side(ra, qa, sa, ea), _Side(rb, qb, sb, eb), settings=settings,
                     n_transpositions=n_transpositions)


class _Side:
    """What the chord facet derives from one track's chord events alone (kept on the track,
    :func:`_side`): chord symbols (``root + 12 quality``), their Markov contexts (a key shift of b
    permutes the symbols, not the contexts), the chord-tone histogram and its 12 rotations."""

    def __init__(self, root, quality, start, end):
        symbols = root.astype(np.int64) + 12 * quality.astype(np.int64)
        self.ctx = sequence_contexts(symbols[None], N_CHORDS)
        self.joint = joint_contexts(self.ctx, [0])
        self.hist = chord_tone_histogram(root, quality, start, end)
        self.rolled = [np.roll(self.hist, t) for t in range(12)]


def _side(f: TrackFeatures) -> _Side:
    return f.derived(("chord", "side"), lambda: _Side(f.chord_root, f.chord_quality, f.chord_start, f.chord_end))


def _shifted_symbols() -> np.ndarray:
    y = np.arange(N_CHORDS, dtype=np.int64)
    out = np.stack([(y % 12 + t) % 12 + 12 * (y // 12) for t in range(12)])
    out.setflags(write=False)
    return out


#: Row t: chord symbol y of b read t semitones up (b's symbols under a key shift).
_SHIFTED = _shifted_symbols()
#: The chord facet's one stream and its weight (:func:`.logodds.pair_logodds`).
_STREAM = np.zeros(1, np.int64)
_WEIGHT = np.ones(1)


@functools.lru_cache(maxsize=8)
def _channel(same_root: float, related: float, other: float) -> np.ndarray:
    """:func:`chord_channel`, kept (read-only) for the settings' values."""
    out = chord_channel(same_root, related, other)
    out.setflags(write=False)
    return out


def _matrices(a: _Side, b: _Side, *, settings: SimilaritySettings, n_transpositions: int | None = None
              ) -> tuple[list, float]:
    """:func:`chord_matrices` of two sides (the same tables, bit for bit: :func:`.logodds.pair_logodds`)."""
    s = settings
    k = s.n_transpositions if n_transpositions is None else n_transpositions
    chan = _channel(s.chord_same_root_prob, s.chord_related_prob, s.chord_other_prob)
    rho = s.chord_copy_prob
    mats, self_score = [], np.inf
    # transposition_candidates, b's rotations kept: the same np.dot of the same arrays
    corr = np.array([np.dot(a.hist, b.rolled[t]) for t in range(12)])
    shifts = np.argsort(-corr, kind="stable")[: max(1, min(k, 12))]
    for t in shifts:
        factored, self_a, self_b = pair_logodds(a.ctx, a.joint, b.ctx, b.joint, _STREAM, _WEIGHT, chan, rho,
                                                context_weight=s.chord_context_weight, perm_b=_SHIFTED[t])
        self_score = min(self_score, self_a, self_b)
        mats.append((int(t), factored, {}))
    return mats, self_score

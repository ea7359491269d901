"""Compare two tracks: features -> three facets -> coefficient and decision.

:func:`compare_features` is the per-pair step (what the catalog sweep calls on stored
:class:`.features.TrackFeatures`); :func:`compare_pieces` extracts features first;
:func:`compare_files` reads two MIDI files and, where a label JSON sits beside a file, takes its
``melodyTrack``/``rhythmTrack``/``chordTrack``.

``a`` is the query, ``b`` the original: a section's own timeline is a's, its ``other_*`` times are b's
(:class:`musim_spark.sections.Section`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from ..errors import InputError, ParameterError
from ..model import Piece
from .cohort import CohortStats, calibrated_score, cohort_statistics, load_cohort, normalised_scores
from .combine import is_similar, similarity_coefficient
from .facet import FacetResult
from .features import TrackFeatures, extract_features
from .chord import chord_similarity
from .melody import melody_similarity
from .rhythm import rhythm_similarity
from .settings import SimilaritySettings

__all__ = ["PairResult", "compare_features", "track_statistics", "piece_features", "compare_pieces",
           "compare_files", "read_piece"]


@dataclasses.dataclass(frozen=True)
class PairResult:
    """A pair's outcome.

    Attributes
    ----------
    melody, rhythm, chord : FacetResult
    coefficient : float
        [-1, 1].
    similar : bool
    """

    melody: FacetResult
    rhythm: FacetResult
    chord: FacetResult
    coefficient: float
    similar: bool


def track_statistics(f: TrackFeatures, *, settings: SimilaritySettings) -> CohortStats:
    """A track's cohort statistics against the settings' cohort (computed once per track and
    stored beside its features by the sweep; :mod:`.cohort`)."""
    return cohort_statistics(f, load_cohort(settings.cohort_path), settings=settings)


def compare_features(fa: TrackFeatures, fb: TrackFeatures, *, settings: SimilaritySettings,
                     stats: tuple[CohortStats, CohortStats] | None = None) -> PairResult:
    """Compare query features ``fa`` with original features ``fb``.

    Each facet's raw alignment score is normalised against both tracks' cohort statistics and
    reported as a calibrated 0-100 score (50 = the facet's decision threshold; :mod:`.cohort`);
    the coefficient combines the calibrated scores.

    Parameters
    ----------
    fa, fb : TrackFeatures
    settings : SimilaritySettings
    stats : (CohortStats, CohortStats), optional
        ``fa``'s and ``fb``'s cohort statistics (:func:`track_statistics`); computed here when
        not given (2 x cohort size extra comparisons: pass them when comparing many pairs).

    Raises
    ------
    ParameterError
        Malformed features (each facet's ``validate``), or no readable cohort.
    """
    if not isinstance(fa, TrackFeatures) or not isinstance(fb, TrackFeatures):
        raise ParameterError("compare_features needs two TrackFeatures")
    facets = [melody_similarity(fa, fb, settings=settings), rhythm_similarity(fa, fb, settings=settings),
              chord_similarity(fa, fb, settings=settings)]
    if stats is None:
        stats = (track_statistics(fa, settings=settings), track_statistics(fb, settings=settings))
    z = normalised_scores(np.array([f.raw_score for f in facets]), *stats)
    thresholds = (settings.melody_threshold, settings.rhythm_threshold, settings.chord_threshold)
    m, r, c = (dataclasses.replace(f, score=calibrated_score(float(zk), t, settings.score_slope),
                                   normalised=float(zk)) for f, zk, t in zip(facets, z, thresholds))
    coef = similarity_coefficient(m.score, r.score, c.score, settings=settings)
    return PairResult(m, r, c, coef, is_similar(coef, settings=settings))


def piece_features(piece: Piece, *, settings: SimilaritySettings) -> TrackFeatures:
    """:func:`.features.extract_features` with the settings' feature options."""
    return extract_features(piece, onset_tolerance=settings.onset_tolerance_s,
                            chord_min_fit=settings.chord_min_fit, chord_bass_weight=settings.chord_bass_weight)


def compare_pieces(a: Piece, b: Piece, *, settings: SimilaritySettings) -> PairResult:
    """Compare two pieces (query ``a``, original ``b``)."""
    return compare_features(piece_features(a, settings=settings), piece_features(b, settings=settings),
                            settings=settings)


def _label_roles(midi_path: Path) -> dict:
    """melody/rhythm/chord track names from a label JSON beside the MIDI file (empty if none)."""
    label_path = midi_path.with_suffix(".json")
    if not label_path.is_file():
        return {}
    from ..labels import read_label_file, track_roles

    return track_roles(read_label_file(str(label_path)))


def read_piece(path: str | os.PathLike) -> Piece:
    """Read a MIDI file with roles from the label beside it (if any).

    Raises
    ------
    InputError
        Unreadable MIDI or label (quarantine code in ``reason``).
    ParameterError
        The path is not a file or not MIDI.
    """
    from ..midi import read_midi

    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"{p}: no such file")
    if p.suffix.lower() not in (".mid", ".midi"):
        raise ParameterError(f"{p}: only MIDI files (.mid/.midi) can be compared for now")
    return read_midi(p, **_label_roles(p))


def compare_files(path_a, path_b, *, settings: SimilaritySettings
                  ) -> tuple[PairResult, TrackFeatures, TrackFeatures]:
    """Read and compare two MIDI files (query ``path_a``, original ``path_b``).

    Returns
    -------
    (PairResult, TrackFeatures, TrackFeatures)
        The features are returned for reports (:func:`.report.render_report`).
    """
    fa = piece_features(read_piece(path_a), settings=settings)
    fb = piece_features(read_piece(path_b), settings=settings)
    return compare_features(fa, fb, settings=settings), fa, fb

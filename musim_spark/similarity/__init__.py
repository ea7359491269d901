"""Explainable similarity of two tracks: melody, rhythm and chord scores with matching sections.

Spark-free (numpy/numba). Per track: :func:`extract_features` -> :class:`TrackFeatures` (flat
arrays, storable) and :func:`track_statistics` (its chance level against a fixed cohort, :mod:`.cohort`).
Per pair: :func:`compare_features` -> :class:`PairResult` (three calibrated facet scores 0-100 with
sections in both timelines, ``similarityCoefficient`` in [-1, 1], ``isSimilar``).
See docs/similarity.md for the method, references, deviations and thresholds.

Modules
-------
features   per-track features (melody skyline, pulse-grid rhythm patterns, chords, embedding)
align      numba local-alignment kernels (score and path) and the numpy baseline
melody, rhythm, chord
           the three facets (each with ``validate()``)
sections   alignment path -> sections (:class:`musim_spark.sections.Section`), IoU
cohort     per-track chance level against a fixed cohort; raw -> normalised -> calibrated scores
combine    scores -> coefficient and decision
compare    compare_features / compare_pieces / compare_files
report     HTML pair report
transforms cover- and transcription-like transforms (tests, benchmarks; the transcription
           noise is the generator's, :mod:`musim_spark.sampledata.noise`)
"""

from . import _numba_cache

_numba_cache.configure()  # before any kernel module imports numba: a cache dir numba can write (read-only installs)

from .compare import PairResult, compare_features, compare_files, compare_pieces, track_statistics  # noqa: E402
from .features import TrackFeatures, extract_features
from .settings import SimilaritySettings

__all__ = ["TrackFeatures", "extract_features", "PairResult", "compare_features", "compare_pieces",
           "compare_files", "track_statistics", "SimilaritySettings"]

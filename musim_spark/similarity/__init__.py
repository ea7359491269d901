"""Explainable similarity of two tracks: melody, rhythm and chord scores with matching sections.

Spark-free (numpy/numba). Per track: :func:`extract_features` -> :class:`TrackFeatures` (flat
arrays, storable). Per pair: :func:`compare_features` -> :class:`PairResult` (three facet scores
0-100, each read from the significance of the facet's best alignment given both lengths, with
sections in both timelines, ``similarityCoefficient`` in [-1, 1], ``isSimilar``).
See docs/similarity.md for the method, references, deviations and thresholds.

Modules
-------
features   per-track features (melody lines, pulse-grid rhythm patterns, chords, embedding)
melody_line
           candidate melody tracks (names in any language) and the partial-robust monophonic line
align      numba local-alignment kernels (score and path) and the numpy baseline
melody, rhythm, chord
           the three facets (each with ``validate()``); rhythm and chord share :mod:`.logodds`
significance
           chance statistics of a local alignment given both lengths (-log10 P)
calibration
           significance -> reported 0-100 score (50 = the facet's decision threshold)
sections   alignment path -> sections (:class:`musim_spark.sections.Section`), IoU
combine    scores -> coefficient and decision ("not enough material" when undefined)
baseline   interval 3-gram Jaccard (the floor every benchmark reports beside the engine)
compare    compare_features / compare_pieces / compare_files
transforms cover- and transcription-like transforms (tests, benchmarks; the transcription
           noise is the generator's, :mod:`musim_spark.sampledata.noise`)
"""

from . import _numba_cache

_numba_cache.configure()  # before any kernel module imports numba: a cache dir numba can write (read-only installs)

from .compare import PairResult, compare_features, compare_files, compare_pieces  # noqa: E402
from .features import TrackFeatures, extract_features
from .settings import SimilaritySettings

__all__ = ["TrackFeatures", "extract_features", "PairResult", "compare_features", "compare_pieces",
           "compare_files", "SimilaritySettings"]

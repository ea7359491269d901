"""Cohort normalisation: raw facet scores -> scores that mean the same for every pair of tracks.

A raw facet score (the share of the shorter song that aligns, :mod:`.facet`) depends on the two
tracks as much as on their likeness: transcription noise lowers every score of a noisy track, a
song built on a four-chord loop scores high on chords against many songs, a sparse melody aligns
by chance more easily. So each track is also compared with a fixed **cohort** of unrelated songs,
and a pair's raw score ``s`` is read against both tracks' cohort scores (symmetric score
normalisation, "S-norm" [1]_ [2]_)::

    z = ((s - center_a) / spread_a + (s - center_b) / spread_b) / 2

``center`` and ``spread`` are the mean and the standard deviation of the track's raw scores
against the cohort, without the highest eighth of them (a cohort song that happens to be related
to the track, e.g. a POP909 song also in the user's catalog, must not raise its chance level). The
median and scaled MAD were tried first: on a development set (generator seed 303, 12 songs x 21
versions) they gave a rhythm decision F1 of 0.878 / 0.789 (clean / transcription-like MIDI, best
threshold each) against 0.926 / 0.813 for the trimmed mean: the MAD of a few well-separated scores
is often tiny and inflates z. ``z`` counts how far above chance the pair is, in units of the tracks' own chance
spread. The reported 0-100 score is ``100 sigmoid(slope (z - threshold))``: 50 is the facet's
decision threshold (chosen on a calibration set), for every pair.

Facets scored by **significance** (:data:`SIGNIFICANCE_FACETS`; melody: ``-log10 P`` of its best
alignment given both lengths, :mod:`.significance`) are already on a scale that means the same for
every pair: they are not compared with the cohort (no alignments, no cost), their statistics are
center 0 and spread 1, so their normalised score is the significance itself.

Because the statistics are per track and against a fixed cohort, a pair's score depends only on the
two tracks: ``musim compare`` and the catalog sweep agree, and reruns give the same numbers. The
default cohort ships with the package (``resources/cohort.npz``, built by
``scripts/build_cohort.py`` from generated originals of POP909 songs, clean and transcription-like).

References
----------
.. [1] Auckenthaler, R., Carey, M., Lloyd-Thomas, H. (2000). Score normalization for
       text-independent speaker verification systems. Digital Signal Processing 10(1-3), 42-54.
.. [2] Kenny, P. (2010). Bayesian speaker verification with heavy-tailed priors. Proc. Odyssey
       (symmetric normalisation, "S-norm").
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .chord import chord_similarity
from .features import TrackFeatures
from .melody import melody_similarity
from .rhythm import rhythm_similarity

__all__ = ["FACETS", "SIGNIFICANCE_FACETS", "CohortStats", "Cohort", "load_cohort", "save_cohort", "default_cohort_path",
           "raw_scores", "cohort_statistics", "statistics_from_scores", "normalised_scores", "calibrated_score"]

#: Facet order of every per-facet array here.
FACETS = ("melody", "rhythm", "chord")
#: Facets whose raw score is a length-fair significance (-log10 P, :mod:`.significance`): read as
#: is (center 0, spread 1), never against the cohort.
SIGNIFICANCE_FACETS = ("melody", "rhythm", "chord")  # rhythm, chord: log-odds alignments (issue 10)

@dataclasses.dataclass(frozen=True)
class CohortStats:
    """A track's chance level per facet: its raw scores against the cohort.

    Attributes
    ----------
    center : np.ndarray [shape=(3,)]
        Mean raw score (0-100) per facet of :data:`FACETS`, the highest eighth left out; NaN where
        fewer than half the cohort scores could be computed.
    spread : np.ndarray [shape=(3,)]
        Their standard deviation, at least the settings' ``cohort_min_spread``.
    """

    center: np.ndarray
    spread: np.ndarray

    def to_list(self) -> list[float]:
        """``center`` then ``spread`` (6 floats, for a table column)."""
        return [float(x) for x in np.concatenate([self.center, self.spread])]

    @classmethod
    def from_list(cls, values) -> "CohortStats":
        v = np.asarray(values, dtype=np.float64)
        if v.shape != (6,):
            raise ParameterError(f"CohortStats.from_list needs 6 values, got shape {v.shape}")
        return cls(v[:3].copy(), v[3:].copy())


@dataclasses.dataclass(frozen=True)
class Cohort:
    """Reference tracks of unrelated songs (their features) and where they came from.

    Attributes
    ----------
    features : tuple of TrackFeatures
    names : tuple of str
        Track ids of the members.
    provenance : dict
        How the cohort was built (generator seed, songs, noise), for the record.
    """

    features: tuple
    names: tuple
    provenance: dict

    def __len__(self) -> int:
        return len(self.features)


def default_cohort_path() -> Path:
    """The cohort shipped with the package."""
    return Path(__file__).resolve().parents[1] / "resources" / "cohort.npz"


def save_cohort(cohort: Cohort, path: str | os.PathLike) -> None:
    """Write a cohort as one compressed ``.npz`` (member ``i``'s field ``f`` under ``"i/f"``)."""
    arrays = {}
    for i, f in enumerate(cohort.features):
        for k, v in f.to_dict().items():
            arrays[f"{i}/{k}"] = np.asarray(v)
    meta = {"names": list(cohort.names), "provenance": cohort.provenance}
    arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float) -> Cohort:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            n = len(meta["names"])
            feats = []
            for i in range(n):
                fields = {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith(f"{i}/")}
                feats.append(TrackFeatures.from_dict(fields))
    except (OSError, ValueError, KeyError, ParameterError) as e:
        raise ParameterError(f"{path}: not a readable similarity cohort ({type(e).__name__}: {e}); rebuild it "
                             "with scripts/build_cohort.py") from e
    if n == 0:
        raise ParameterError(f"{path}: the similarity cohort has no members")
    return Cohort(tuple(feats), tuple(meta["names"]), dict(meta.get("provenance", {})))


def load_cohort(path: str | os.PathLike | None = None) -> Cohort:
    """Read a cohort (default: the packaged one); cached per path and modification time.

    Raises
    ------
    ParameterError
        The file is missing, unreadable or empty (the message names the file).
    """
    p = Path(path) if path else default_cohort_path()
    if not p.is_file():
        raise ParameterError(f"{p}: similarity cohort not found (settings cohort_path; build one with "
                             "scripts/build_cohort.py)")
    return _load_cached(str(p), p.stat().st_mtime)


def raw_scores(fa: TrackFeatures, fb: TrackFeatures, *, settings, facets=FACETS) -> np.ndarray:
    """The raw facet scores (NaN allowed) of query ``fa`` against ``fb``, in :data:`FACETS` order;
    facets not in ``facets`` are NaN (not computed)."""
    fns = {"melody": melody_similarity, "rhythm": rhythm_similarity, "chord": chord_similarity}
    with warnings.catch_warnings():
        # a cohort member too short for a facet is expected now and then: that score is left out
        warnings.simplefilter("ignore", UserWarning)
        return np.array([fns[k](fa, fb, settings=settings).raw_score if k in facets else np.nan for k in FACETS],
                        dtype=np.float64)


def cohort_statistics(f: TrackFeatures, cohort: Cohort, *, settings) -> CohortStats:
    """Chance level of track ``f`` per facet: mean and standard deviation of its raw scores against
    the cohort members (``f`` as the query), the highest eighth left out.

    Parameters
    ----------
    f : TrackFeatures
    cohort : Cohort
    settings : SimilaritySettings
        Alignment settings, and ``cohort_min_spread`` (floors on the spread per facet, in score
        points: a track whose cohort scores are all equal, e.g. all 0, must not make every score
        infinite).

    Returns
    -------
    CohortStats
        Facets of :data:`SIGNIFICANCE_FACETS`: center 0, spread 1 (identity).
    """
    if len(cohort) == 0:
        raise ParameterError("cohort_statistics: empty cohort")
    normed = tuple(k for k in FACETS if k not in SIGNIFICANCE_FACETS)
    st = statistics_from_scores(np.stack([raw_scores(f, m, settings=settings, facets=normed)
                                          for m in cohort.features]),
                                min_spread=np.asarray(settings.cohort_min_spread, dtype=np.float64))
    for k in SIGNIFICANCE_FACETS:
        st.center[FACETS.index(k)] = 0.0
        st.spread[FACETS.index(k)] = 1.0
    return st


def statistics_from_scores(scores: np.ndarray, *, min_spread: float) -> CohortStats:
    """:class:`CohortStats` from a track's raw scores against the cohort.

    Parameters
    ----------
    scores : np.ndarray [shape=(n, 3)]
        Raw scores (NaN = could not be computed) per cohort member and facet.
    min_spread : float or np.ndarray [shape=(3,)]
        Floor on the spread (score points), one for all facets or one per facet.

    Examples
    --------
    >>> s = np.array([[10., 0., np.nan]] * 7 + [[90., 0., np.nan]])
    >>> st = statistics_from_scores(s, min_spread=2.0)
    >>> st.center.tolist(), st.spread.tolist()
    ([10.0, 0.0, nan], [2.0, 2.0, nan])
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.shape[0]
    floor = np.broadcast_to(np.asarray(min_spread, dtype=np.float64), (3,))
    center = np.full(3, np.nan)
    spread = np.full(3, np.nan)
    for k in range(3):
        v = np.sort(scores[:, k][np.isfinite(scores[:, k])])
        if v.shape[0] * 2 < n:
            continue  # fewer than half the cohort comparable: no chance level for this facet
        v = v[:v.shape[0] - v.shape[0] // 8]
        center[k] = float(v.mean())
        spread[k] = max(float(v.std()), float(floor[k]))
    return CohortStats(center, spread)


def normalised_scores(raw: np.ndarray, stats_a: CohortStats, stats_b: CohortStats) -> np.ndarray:
    """S-norm of raw scores [shape=(3,)]: mean of the two tracks' z-scores; NaN where either is NaN.

    Examples
    --------
    >>> a = CohortStats(np.array([20., 30., 10.]), np.array([5., 5., 5.]))
    >>> b = CohortStats(np.array([30., 30., 20.]), np.array([5., 10., 5.]))
    >>> normalised_scores(np.array([50., 60., np.nan]), a, b).tolist()
    [5.0, 4.5, nan]
    """
    raw = np.asarray(raw, dtype=np.float64)
    za = (raw - stats_a.center) / stats_a.spread
    zb = (raw - stats_b.center) / stats_b.spread
    return 0.5 * (za + zb)


def calibrated_score(z: float, threshold: float, slope: float) -> float:
    """0-100 score: ``100 sigmoid(slope (z - threshold))``; 50 at the decision threshold, NaN stays NaN.

    Examples
    --------
    >>> calibrated_score(4.0, 4.0, 1.0), round(calibrated_score(7.0, 4.0, 1.0), 1)
    (50.0, 95.3)
    """
    if z is None or not math.isfinite(z):
        return float("nan")
    x = max(min(slope * (z - threshold), 50.0), -50.0)
    return 100.0 / (1.0 + math.exp(-x))

"""Compare tracks: features -> three facets -> coefficient and decision.

:func:`compare_features` is the per-pair step (what the catalog sweep calls on stored
:class:`.features.TrackFeatures`); :func:`compare_pieces` extracts features first;
:func:`compare_files` reads two MIDI files and, where a label JSON sits beside a file, takes its
``melodyTrack``/``rhythmTrack``/``chordTrack``; :func:`compare_query` compares one query with many
files (features computed once per file) and ranks them (:func:`rank_order`).

``a`` is the query, ``b`` the original: a section's own timeline is a's, its ``other_*`` times are b's
(:class:`musim_spark.sections.Section`).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ..model import Piece
from .calibration import calibrated_score
from .combine import decide
from .facet import FacetResult
from .features import TrackFeatures, extract_features
from .chord import chord_similarity
from .melody import melody_similarity
from .rhythm import rhythm_similarity
from .settings import SimilaritySettings

__all__ = ["PairResult", "compare_features", "piece_features", "compare_pieces",
           "compare_files", "read_piece", "MIDI_SUFFIXES", "expand_candidates", "CandidateResult",
           "compare_query", "rank_key", "rank_order"]

#: File name endings ``musim compare`` reads (case-insensitive), also when expanding a directory.
MIDI_SUFFIXES = (".mid", ".midi")


@dataclasses.dataclass(frozen=True)
class PairResult:
    """A pair's outcome.

    Attributes
    ----------
    melody, rhythm, chord : FacetResult
        A facet that cannot be computed has a NaN score and a ``reason``.
    coefficient : float
        [-1, 1]; NaN when the pair is not decided (melody undefined: "not enough material",
        :mod:`.combine`).
    similar : bool
        Always False when ``coefficient`` is NaN.
    reason : str
        Empty when every facet is defined; else why the pair is not decided
        (``"not enough material: ..."``) or which facets decided it (:func:`.combine.decide`).
    """

    melody: FacetResult
    rhythm: FacetResult
    chord: FacetResult
    coefficient: float
    similar: bool
    reason: str = ""

    @property
    def decided(self) -> bool:
        """Whether the pair had enough material for a coefficient."""
        return bool(np.isfinite(self.coefficient))


def compare_features(fa: TrackFeatures, fb: TrackFeatures, *, settings: SimilaritySettings) -> PairResult:
    """Compare query features ``fa`` with original features ``fb``.

    Each facet's significance (``raw_score``, ``-log10 P`` of its best alignment given both
    lengths) is reported as a calibrated 0-100 score (50 = the facet's decision threshold,
    :mod:`.calibration`); the coefficient combines the calibrated scores (:mod:`.combine`). The
    result depends on the two tracks only: the catalog sweep and ``musim compare`` agree.

    Parameters
    ----------
    fa, fb : TrackFeatures
    settings : SimilaritySettings

    Raises
    ------
    ParameterError
        Malformed features (each facet's ``validate``).
    """
    if not isinstance(fa, TrackFeatures) or not isinstance(fb, TrackFeatures):
        raise ParameterError("compare_features needs two TrackFeatures")
    facets = [melody_similarity(fa, fb, settings=settings), rhythm_similarity(fa, fb, settings=settings),
              chord_similarity(fa, fb, settings=settings)]
    thresholds = (settings.melody_threshold, settings.rhythm_threshold, settings.chord_threshold)
    m, r, c = (dataclasses.replace(f, score=calibrated_score(f.raw_score, t, settings.score_slope),
                                   reason=_undefined_reason(f))
               for f, t in zip(facets, thresholds))
    d = decide((m.score, r.score, c.score), (m.reason, r.reason, c.reason), settings=settings)
    return PairResult(m, r, c, d.coefficient, d.similar, d.reason)


def _undefined_reason(f: FacetResult) -> str:
    """The facet's own reason when its score is undefined (the facet modules say why), a fallback
    when it gave none; empty when defined."""
    if np.isfinite(f.raw_score):
        return ""
    return f.reason or "cannot be computed"


def piece_features(piece: Piece, *, settings: SimilaritySettings) -> TrackFeatures:
    """:func:`.features.extract_features` with the settings' feature options."""
    return extract_features(piece, onset_tolerance=settings.onset_tolerance_s,
                            chord_min_fit=settings.chord_min_fit, chord_bass_weight=settings.chord_bass_weight,
                            melody_candidates=settings.melody_candidates,
                            melody_partial_intervals=tuple(settings.melody_partial_intervals),
                            melody_continuity_weight=settings.melody_continuity_weight)


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
    if p.suffix.lower() not in MIDI_SUFFIXES:
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


def expand_candidates(paths, *, query=None) -> list[tuple[str, str]]:
    """Candidate arguments -> files to compare, in the order given.

    A directory stands for its own ``.mid``/``.midi`` files (not its subdirectories), sorted by
    name; the query's own file is left out of a directory (a file never ranks against itself),
    but kept when named explicitly. Anything else is passed through as given (reading it reports
    what is wrong).

    Parameters
    ----------
    paths : sequence of path-like
    query : path-like, optional
        The query file, left out of expanded directories.

    Returns
    -------
    list of (str, str)
        ``(path, error)``: error is empty, or says why the argument gave no file (a directory
        without MIDI files).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> for n in ("b.mid", "a.MIDI", "notes.txt"):
    ...     _ = (d / n).write_bytes(b"")
    >>> [Path(p).name for p, _ in expand_candidates([d])]
    ['a.MIDI', 'b.mid']
    """
    own = Path(query).resolve() if query is not None else None
    out = []
    for raw in paths:
        p = Path(raw)
        if not p.is_dir():
            out.append((str(raw), ""))
            continue
        files = sorted((c for c in p.iterdir() if c.is_file() and c.suffix.lower() in MIDI_SUFFIXES),
                       key=lambda c: c.name)
        files = [c for c in files if own is None or c.resolve() != own]
        if not files:
            out.append((str(raw), f"{raw}: directory has no {'/'.join(MIDI_SUFFIXES)} files to compare"))
        out += [(str(c), "") for c in files]
    return out


@dataclasses.dataclass(frozen=True)
class CandidateResult:
    """One candidate of :func:`compare_query`.

    Attributes
    ----------
    path : str
    result : PairResult or None
        None when the candidate could not be read (``error``).
    features : TrackFeatures or None
        The candidate's features (for reports).
    error : str
        One line naming the file and what is wrong with it; empty on success.
    rank : int or None
        1 = most similar (:func:`rank_order`); None for a candidate with an error.
    warnings : tuple of str
        ``UserWarning`` messages raised while reading or comparing this candidate.
    """

    path: str
    result: PairResult | None
    features: TrackFeatures | None = None
    error: str = ""
    rank: int | None = None
    warnings: tuple = ()


def _error_line(path: str, exc: Exception) -> str:
    msg = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return msg if path in msg else f"{path}: {msg}"


def compare_query(query, candidates, *, settings: SimilaritySettings, expand: bool = True
                  ) -> tuple[TrackFeatures, list[CandidateResult]]:
    """Compare one query file with many candidate files, and rank them.

    The query's features are computed once; each distinct candidate file's
    once (a file named twice is read once). A candidate that cannot be read (missing, not MIDI,
    corrupt, a bad label beside it) gets an ``error`` and no rank; the others are still compared.
    Warnings about a candidate are recorded in its result (not issued); the query's are issued.

    Parameters
    ----------
    query : path-like
        The query (the suspect melody); errors here raise, as nothing can be compared.
    candidates : sequence of path-like
        Files, or directories (expanded by :func:`expand_candidates` when ``expand``).
    settings : SimilaritySettings
    expand : bool

    Returns
    -------
    (TrackFeatures, list of CandidateResult)
        The query's features and one result per candidate file, in the order given, ranked.

    Raises
    ------
    InputError, ParameterError
        The query cannot be read.
    """
    from ..errors import MusimError

    fq = piece_features(read_piece(query), settings=settings)
    items = expand_candidates(candidates, query=query) if expand else [(str(c), "") for c in candidates]
    cache: dict[Path, CandidateResult] = {}
    out = []
    for path, error in items:
        if error:
            out.append(CandidateResult(path, None, error=error))
            continue
        key = Path(path).resolve()
        if key not in cache:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    fc = piece_features(read_piece(path), settings=settings)
                    got = CandidateResult(path, compare_features(fq, fc, settings=settings), fc)
                except (MusimError, OSError) as exc:  # a bad file: say which and why, go on with the others
                    got = CandidateResult(path, None, error=_error_line(path, exc))
            cache[key] = dataclasses.replace(got, warnings=tuple(
                str(w.message) for w in caught if issubclass(w.category, UserWarning)))
        out.append(dataclasses.replace(cache[key], path=path))
    ranks = rank_order([c.result for c in out])
    return fq, [dataclasses.replace(c, rank=r) for c, r in zip(out, ranks)]


def rank_key(result: PairResult) -> tuple:
    """Sort key (ascending = more similar) of a candidate's result.

    Decided pairs come first, similar before not similar; among them the **melody significance**
    (``-log10 P``, unbounded, where the 0-100 score saturates near 100) decides, as the melody is the evidence a copy claim rests on and a query is typically a
    melody whose own rhythm and chords say little; the coefficient breaks ties. Pairs not decided
    ("not enough material") come last.
    """
    if not result.decided:
        return (1, 0, 0.0, 0.0)
    z = result.melody.raw_score
    return (0, 0 if result.similar else 1, -(z if np.isfinite(z) else -np.inf), -float(result.coefficient))


def rank_order(results) -> list[int | None]:
    """Ranks (1 = most similar) of results given in the candidates' order; None for a missing
    result (a candidate with an error). Ties keep the order given.

    Examples
    --------
    >>> from .facet import nan_result
    >>> m = lambda z: dataclasses.replace(nan_result(), score=50.0, raw_score=z)
    >>> lo = PairResult(m(1.0), nan_result(), nan_result(), -0.5, False)
    >>> hi = PairResult(m(9.0), nan_result(), nan_result(), 0.9, True)
    >>> none = PairResult(nan_result(), nan_result(), nan_result(), float("nan"), False, "not enough material")
    >>> rank_order([lo, None, none, hi])
    [2, None, 3, 1]
    """
    idx = [i for i, r in enumerate(results) if r is not None]
    idx.sort(key=lambda i: rank_key(results[i]))  # stable: ties keep the order given
    ranks: list[int | None] = [None] * len(results)
    for rank, i in enumerate(idx, start=1):
        ranks[i] = rank
    return ranks

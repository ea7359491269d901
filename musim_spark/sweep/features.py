"""Per-track features for the catalog sweep: ``notes`` rows in, ``features`` rows out. Pure: no Spark.

A track's :class:`~musim_spark.similarity.features.TrackFeatures` are computed once from its rows of
the ``notes`` table (the MIDI source) and stored in the ``features`` table, one row per track, as
one binary cell (:func:`encode_features`: an uncompressed ``.npz`` of the flat arrays, readable
with numpy alone, never a pickle) next to the retrieval keys (:mod:`musim_spark.retrieval`) and a
``digest`` that names everything the row was computed from: the MIDI and label content hashes
and the feature settings. A later run recomputes a track only when its digest changes.

Examples
--------
>>> import pyarrow as pa
>>> notes = pa.table({"track_index": [0, 0, 1], "track_name": ["Melody", "Melody", "Drums"],
...                   "role": ["melody", "melody", "rhythm"], "program": [0, 0, 0],
...                   "is_drum": [False, False, True], "pitch": [60, 62, 36],
...                   "start_s": [0.0, 0.5, 0.0], "end_s": [0.5, 1.0, 0.1], "velocity": [90, 90, 100]})
>>> piece = piece_from_notes(notes)
>>> [(t.name, t.role, len(t.notes), t.is_drum) for t in piece.tracks]
[('Melody', 'melody', 2, False), ('Drums', 'rhythm', 1, True)]
"""

from __future__ import annotations

import hashlib
import io
import warnings
from typing import Iterable

import numpy as np
import pyarrow as pa

from ..errors import ParameterError
from ..model import ROLES, Note, Piece, Track

__all__ = ["FEATURES_VERSION", "piece_from_notes", "encode_features", "decode_features", "feature_digest",
           "features_of_track"]

#: Bumped when the feature extraction changes in a way the settings do not show (code, not values):
#: stored features with another version are recomputed.
FEATURES_VERSION = "2026-12-02.1"


def piece_from_notes(notes: pa.Table) -> Piece:
    """Rebuild a track's :class:`~musim_spark.model.Piece` from its ``notes`` rows.

    Parameters
    ----------
    notes : pyarrow.Table
        One track's rows (columns of the ``notes`` table: ``track_index``, ``track_name``,
        ``role``, ``program``, ``is_drum``, ``pitch``, ``start_s``, ``end_s``, ``velocity``).

    Returns
    -------
    Piece
        One :class:`~musim_spark.model.Track` per ``track_index``, in index order, with its role.
    """
    cols = notes.to_pydict()
    n = notes.num_rows
    if n == 0:
        return Piece(())
    index = cols.get("track_index") or [0] * n
    parts: dict[int, list[int]] = {}
    for row, ti in enumerate(index):
        parts.setdefault(-1 if ti is None else int(ti), []).append(row)
    tracks = []
    for ti in sorted(parts):
        rows = parts[ti]
        first = rows[0]
        role = cols["role"][first] if "role" in cols and cols["role"][first] in ROLES else "other"
        vel = cols.get("velocity")
        tracks.append(Track(
            name=cols["track_name"][first] or f"track {ti}",
            notes=tuple(Note(int(cols["pitch"][r]), float(cols["start_s"][r]), float(cols["end_s"][r]),
                             int(vel[r]) if vel is not None and vel[r] is not None else 80) for r in rows),
            program=int(cols["program"][first] or 0) if "program" in cols else 0,
            is_drum=bool(cols["is_drum"][first]) if "is_drum" in cols else False,
            role=role))
    return Piece(tuple(tracks))


def encode_features(features) -> bytes:
    """A :class:`TrackFeatures` as bytes (``.npz`` of :meth:`TrackFeatures.to_dict`, no pickle)."""
    buf = io.BytesIO()
    np.savez(buf, **features.to_dict())
    return buf.getvalue()


def decode_features(blob: bytes):
    """Inverse of :func:`encode_features`.

    Raises
    ------
    ParameterError
        Bytes that are not stored features (the message says what is wrong).
    """
    from ..similarity.features import TrackFeatures

    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            values = {k: z[k] for k in z.files}
    except Exception as exc:  # noqa: BLE001 - any decoding failure is one clear error
        raise ParameterError(f"stored features cannot be read: {type(exc).__name__}: {exc}") from exc
    return TrackFeatures.from_dict(values)


def feature_digest(parts: Iterable[object], settings_fingerprint: str) -> str:
    """What a features row was computed from, as one short hash.

    Parameters
    ----------
    parts : iterable
        The source's identity (e.g. the MIDI and label SHA-256 of the ``tracks`` row).
    settings_fingerprint : str
        Fingerprint of the settings the features depend on (:func:`settings_fingerprint`).

    Examples
    --------
    >>> feature_digest(["abc", None], "s1") == feature_digest(["abc", None], "s1")
    True
    >>> feature_digest(["abc", None], "s1") == feature_digest(["abd", None], "s1")
    False
    """
    h = hashlib.sha256(FEATURES_VERSION.encode())
    for p in parts:
        h.update(b"\0" + ("" if p is None else str(p)).encode("utf-8", "surrogateescape"))
    h.update(b"\0" + settings_fingerprint.encode())
    return h.hexdigest()[:32]


def features_of_track(notes: pa.Table, *, settings, retrieval_settings=None):
    """Features and retrieval keys of one track from its ``notes`` rows.

    Parameters
    ----------
    notes : pyarrow.Table
    settings : SimilaritySettings
    retrieval_settings : RetrievalSettings, optional
        Without it, no retrieval keys are computed (empty array).

    Returns
    -------
    (TrackFeatures, np.ndarray [dtype=int64], np.ndarray [dtype=float64])
        The features, the retrieval shingles (every (hash, time) occurrence, hashes as int64 for
        a Delta ``bigint`` column) and their times in s (:func:`musim_spark.retrieval.track_shingles`
        with ``with_times``; an original's index entry is their distinct set).

    Raises
    ------
    ParameterError
        No notes (nothing to compare).
    """
    from ..similarity.compare import piece_features

    piece = piece_from_notes(notes)
    if piece.n_notes == 0:
        raise ParameterError("the track has no notes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty melody is recorded by the facets' reasons, not a warning per task
        f = piece_features(piece, settings=settings)
    keys, times = np.zeros(0, np.int64), np.zeros(0)
    if retrieval_settings is not None:
        from ..retrieval import track_shingles

        hashes, times = track_shingles(f, retrieval_settings, with_times=True)
        keys = np.asarray(hashes, dtype=np.uint64).view(np.int64)
    return f, keys, np.asarray(times, dtype=np.float64)

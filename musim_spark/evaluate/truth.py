"""A generated set's truth (``_truth/truth.csv``, written by ``musim sample-data``) as typed rows.

The columns are :data:`musim_spark.sampledata.generate.TRUTH_COLUMNS`; the evaluation reads
``track_id``, ``original_track_id`` (empty for an original), ``genre``, ``cover_type``,
``duration_s`` and the three ``*_sections`` cells (:func:`musim_spark.sections.parse_truth_json`,
the cover's timeline first).

Examples
--------
>>> truth_csv_path("/nonexistent")
Traceback (most recent call last):
    ...
musim_spark.errors.ParameterError: /nonexistent: no truth.csv there (give a generated set's _truth directory)
"""

from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path

from ..errors import MusimError, ParameterError
from ..sections import Section, parse_truth_json

__all__ = ["TruthTrack", "truth_csv_path", "read_truth", "REQUIRED_COLUMNS"]

#: The columns the evaluation needs.
REQUIRED_COLUMNS = ("track_id", "original_track_id", "genre", "cover_type", "duration_s",
                    "melody_sections", "rhythm_sections", "chord_sections")


@dataclasses.dataclass(frozen=True)
class TruthTrack:
    """One track of a generated set, as its truth row says.

    Attributes
    ----------
    track_id : str
    original_track_id : str
        The original it was made from; ``""`` for an original.
    genre, cover_type : str
        ``cover_type`` is ``Org`` for an original.
    duration_s : float
    melody_sections, rhythm_sections, chord_sections : tuple of Section
        Where the track is the same as its original (own timeline first); empty for an original.
    """

    track_id: str
    original_track_id: str
    genre: str
    cover_type: str
    duration_s: float
    melody_sections: tuple[Section, ...] = ()
    rhythm_sections: tuple[Section, ...] = ()
    chord_sections: tuple[Section, ...] = ()

    @property
    def is_cover(self) -> bool:
        return bool(self.original_track_id)


def truth_csv_path(path: str | os.PathLike) -> Path:
    """``truth.csv`` of ``path``: the file itself, a ``_truth`` directory or a generated set's root.

    Raises
    ------
    ParameterError
        None of these.
    """
    p = Path(path)
    for candidate in (p, p / "truth.csv", p / "_truth" / "truth.csv"):
        if candidate.is_file():
            return candidate
    raise ParameterError(f"{p}: no truth.csv there (give a generated set's _truth directory)")


def read_truth(path: str | os.PathLike) -> dict[str, TruthTrack]:
    """Every truth row by track id.

    Raises
    ------
    ParameterError
        No ``truth.csv`` (:func:`truth_csv_path`).
    MusimError
        A missing column, or a row that cannot be read: one line naming the file, the line and
        the column.
    """
    f = truth_csv_path(path)
    out: dict[str, TruthTrack] = {}
    with open(f, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise MusimError(f"{f}: not a generated set's truth: missing column(s) {', '.join(missing)}")
        for row in reader:
            line = reader.line_num
            secs = {}
            for k in ("duration_s", "melody_sections", "rhythm_sections", "chord_sections"):
                try:
                    secs[k] = float(row[k]) if k == "duration_s" else parse_truth_json(row[k] or "")
                except (MusimError, ValueError, TypeError) as exc:
                    raise MusimError(f"{f}: line {line}: column {k}: {exc}") from exc
            duration = secs.pop("duration_s")
            out[row["track_id"]] = TruthTrack(row["track_id"], row["original_track_id"] or "", row["genre"],
                                              row["cover_type"] or "Org", duration, **secs)
    return out

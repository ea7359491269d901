"""What a pair report reads beside a compared file: the piece, its audio, its label's key.

The report is rendered from the features a comparison used; the file it came from adds what
features do not keep: the recording (the data set's ``.wav`` beside the ``.mid``) or the notes
to synthesise one from, and the key the label states (``songKey``). A report without files
(features from the warehouse) still renders, without listening and with estimated keys.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

from ..errors import MusimError
from .audio import wav_beside
from .chords import parse_key

__all__ = ["TrackSource", "track_source"]


@dataclasses.dataclass(frozen=True)
class TrackSource:
    """A compared file's extras for the report.

    Attributes
    ----------
    path : Path or None
        The MIDI file.
    wav : Path or None
        Its recording (same stem), if any.
    piece : Piece or None
        Its notes, for synthesised excerpts where there is no recording.
    key : (int, str) or None
        ``(tonic, "major"|"minor")`` from the label's ``songKey``.
    """

    path: Path | None = None
    wav: Path | None = None
    piece: object = None
    key: tuple | None = None


def _label_key(midi: Path):
    label = midi.with_suffix(".json")
    if not label.is_file():
        return None
    from ..labels import read_label_file

    try:
        obj = read_label_file(str(label), require=False)
    except MusimError:
        return None
    info = (obj.get("data_Set") or {}).get("songinfo") or {}
    return parse_key(info.get("songKey"))


def track_source(path) -> TrackSource:
    """The extras of the file at ``path`` (None: none); unreadable extras are left out, not raised
    (the comparison already read the file; a report never fails for want of a key or a WAV)."""
    if path is None:
        return TrackSource()
    p = Path(path)
    wav = wav_beside(p)
    piece = None
    if wav is None:
        from ..similarity.compare import read_piece

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the comparison has already warned about this file
                piece = read_piece(p)
        except (MusimError, OSError):
            piece = None
    return TrackSource(p, wav, piece, _label_key(p))

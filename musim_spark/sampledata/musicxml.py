"""MusicXML from a delivered MIDI file, through music21, with byte-stable output.

music21 stamps the export date and random element ids into every file; both are replaced
(a fixed date, ids numbered in order of appearance) so the same MIDI always gives the same bytes.
"""

from __future__ import annotations

import os
import re
import warnings

from ..errors import ParameterError

__all__ = ["midi_to_musicxml", "stabilize_musicxml", "ENCODING_DATE"]

#: encoding date written into every generated file (the data set's delivery date)
ENCODING_DATE = "2022-11-30"

_ID_RE = re.compile(rb'\b(?:id|idref)="([A-Za-z]?)([^"]*)"')


def stabilize_musicxml(data: bytes) -> bytes:
    """Replace the export date and music21's random ids with fixed ones.

    Examples
    --------
    >>> stabilize_musicxml(b'<a id="P9f3"/><b id="I77"/><c idref="P9f3"/>')
    b'<a id="P1"/><b id="I2"/><c idref="P1"/>'
    """
    data = re.sub(rb"<encoding-date>[^<]*</encoding-date>",
                  b"<encoding-date>" + ENCODING_DATE.encode() + b"</encoding-date>", data)
    mapping: dict[bytes, bytes] = {}

    def sub(m: re.Match) -> bytes:
        key = m.group(1) + m.group(2)
        if key not in mapping:
            mapping[key] = m.group(1) + str(len(mapping) + 1).encode()
        attr = m.group(0).split(b"=", 1)[0]
        return attr + b'="' + mapping[key] + b'"'

    return _ID_RE.sub(sub, data)


def midi_to_musicxml(midi_path: str | os.PathLike, *, title: str = "") -> bytes:
    """Convert a MIDI file to MusicXML bytes (quantised by music21, UTF-8).

    Parameters
    ----------
    midi_path : path-like
        A Standard MIDI File.
    title : str
        Written as the movement title.

    Raises
    ------
    ParameterError
        If music21 cannot read the MIDI (the message names the file).
    """
    import music21
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = music21.converter.parse(str(midi_path), format="midi", quantizePost=True)
            if title:
                score.metadata = music21.metadata.Metadata()
                score.metadata.title = title
                score.metadata.movementName = title
            data = GeneralObjectExporter(score).parse()
    except Exception as exc:  # music21 raises many types on odd input
        raise ParameterError(f"{midi_path}: music21 could not convert it to MusicXML: {exc}") from exc
    return stabilize_musicxml(data)

"""Pitch-class names: the one table of note names the package writes and reads.

Key names in labels (``songKey``: ``"Db major"``) and in POP909 notation (``Db:maj``) spell the
black keys as flats; chord names in pair reports spell pitch classes 1 and 6 as ``C#`` and ``F#``
(the usual lead-sheet spelling), the rest as flats. Both come from :data:`PITCH_CLASS_NAMES`.

Examples
--------
>>> pitch_class_name(1), pitch_class_name(1, spelling="chord"), pitch_class_name(-2)
('Db', 'C#', 'Bb')
>>> LETTER_PITCH_CLASSES["A"]
9
"""

from __future__ import annotations

from .errors import ParameterError

__all__ = ["PITCH_CLASS_NAMES", "LETTER_PITCH_CLASSES", "pitch_class_name"]

#: Pitch class (C = 0) -> name, black keys as flats.
PITCH_CLASS_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")

#: Natural note letter -> pitch class (the first character of a POP909/Harte chord root).
LETTER_PITCH_CLASSES = {name: pc for pc, name in enumerate(PITCH_CLASS_NAMES) if len(name) == 1}

# Pitch classes that chord names spell as a sharp of the letter below (C#, F#), not as a flat.
_CHORD_SHARPS = frozenset({1, 6})


def pitch_class_name(pc: int, *, spelling: str = "flat") -> str:
    """Name of pitch class ``pc`` (taken mod 12).

    Parameters
    ----------
    pc : int
    spelling : {"flat", "chord"}
        ``"flat"``: every black key as a flat (key names); ``"chord"``: ``C#`` and ``F#`` for 1 and
        6, flats otherwise (chord names of the pair report).

    Raises
    ------
    ParameterError
        An unknown ``spelling``.
    """
    pc = int(pc) % 12
    if spelling == "chord":
        if pc in _CHORD_SHARPS:
            return PITCH_CLASS_NAMES[pc - 1] + "#"
    elif spelling != "flat":
        raise ParameterError(f"spelling must be 'flat' or 'chord', got {spelling!r}")
    return PITCH_CLASS_NAMES[pc]

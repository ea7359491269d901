"""One matching section (a span of one track that is the same as a span of another) and its formats.

A :class:`Section` holds four integers in milliseconds, in two timelines:

* ``start_ms``, ``duration_ms``: the span in the track's **own** timeline: the query of a
  comparison (``musim compare``'s A, a ``matches`` row's ``query_track_id``) or, in a generated
  set's truth, the cover.
* ``other_start_ms``, ``other_duration_ms``: the same span in the **other** track's timeline: the
  original (``compare``'s B, a ``matches`` row's ``original_track_id``, the original a cover was
  made from). The two durations differ where the tempo differs.

Every place a section leaves the program has one converter here, so a section is spelled one way
inside and each outside spelling lives in one place:

========================  ==========================================  ===========================
format                    keys (own start, own duration, other ...)   converters
========================  ==========================================  ===========================
label JSON                ``startMilliSec``, ``durationMilliSec``     :meth:`Section.to_label`
                          (own timeline only; label.schema.json)
``compare --json``        ``startMilliSec``, ``durationMilliSec``,    :meth:`Section.to_interface`,
                          ``otherStartMilliSec``,                     :meth:`Section.from_interface`
                          ``otherDurationMilliSec`` (interface.md)
truth CSV (``_truth``)    ``startMilliSec``, ``durationMilliSec``,    :meth:`Section.to_truth`,
                          ``originalStartMilliSec``,                  :meth:`Section.from_truth`,
                          ``originalDurationMilliSec``                :func:`truth_json`,
                                                                      :func:`parse_truth_json`
``matches`` table row     ``query_start_ms``, ``query_duration_ms``,  :meth:`Section.to_row`,
                          ``original_start_ms``,                      :meth:`Section.from_row`
                          ``original_duration_ms`` (interface.md;
                          ``io.tables.SECTION_TYPE``)
========================  ==========================================  ===========================

Examples
--------
>>> s = Section(1000, 4000, 2000, 8000)
>>> s.to_interface()
{'startMilliSec': 1000, 'durationMilliSec': 4000, 'otherStartMilliSec': 2000, 'otherDurationMilliSec': 8000}
>>> s.to_label()
{'startMilliSec': 1000, 'durationMilliSec': 4000}
>>> Section.from_row(s.to_row()) == Section.from_truth(s.to_truth()) == s
True
>>> truth_json([s])
'[{"startMilliSec":1000,"durationMilliSec":4000,"originalStartMilliSec":2000,"originalDurationMilliSec":8000}]'
>>> s.end_ms, s.other_end_ms
(5000, 10000)
"""

from __future__ import annotations

import dataclasses
import json
import operator
from typing import Iterable, Mapping

from .errors import ParameterError

__all__ = ["Section", "LABEL_KEYS", "INTERFACE_KEYS", "TRUTH_KEYS", "ROW_KEYS", "truth_json", "parse_truth_json"]

# Keys of each outside format, in the order of Section's fields (own start, own duration, other
# start, other duration). The label has no other timeline.
#: label JSON (``melodySameSection`` ...; label.schema.json).
LABEL_KEYS = ("startMilliSec", "durationMilliSec")
#: ``compare --json`` (``melodySameSection`` ...; interface.md).
INTERFACE_KEYS = ("startMilliSec", "durationMilliSec", "otherStartMilliSec", "otherDurationMilliSec")
#: ``_truth/truth.csv``'s ``*_sections`` cells (docs/sample-data.md).
TRUTH_KEYS = ("startMilliSec", "durationMilliSec", "originalStartMilliSec", "originalDurationMilliSec")
#: The ``matches`` table's section struct (interface.md; ``musim_spark.io.tables.SECTION_TYPE``).
ROW_KEYS = ("query_start_ms", "query_duration_ms", "original_start_ms", "original_duration_ms")

_FIELDS = ("start_ms", "duration_ms", "other_start_ms", "other_duration_ms")


@dataclasses.dataclass(frozen=True)
class Section:
    """A span of a track that is the same as a span of another track (integer ms).

    Attributes
    ----------
    start_ms, duration_ms : int
        The span in the track's own timeline (the query; in generated truth, the cover).
    other_start_ms, other_duration_ms : int
        The matching span in the other track's timeline (the original).

    Raises
    ------
    ParameterError
        A field that is not an integer (Python or numpy; a float is refused, not truncated).
    """

    start_ms: int
    duration_ms: int
    other_start_ms: int
    other_duration_ms: int

    def __post_init__(self):
        for name in _FIELDS:
            value = getattr(self, name)
            try:
                # numpy integers become Python ints (JSON-able); floats are refused, not truncated
                object.__setattr__(self, name, operator.index(value))
            except TypeError:
                raise ParameterError(f"Section.{name} must be an integer (ms), got {value!r}") from None

    @property
    def end_ms(self) -> int:
        """End of the span in the own timeline."""
        return self.start_ms + self.duration_ms

    @property
    def other_end_ms(self) -> int:
        """End of the span in the other timeline."""
        return self.other_start_ms + self.other_duration_ms

    def _values(self) -> tuple[int, int, int, int]:
        return self.start_ms, self.duration_ms, self.other_start_ms, self.other_duration_ms

    @classmethod
    def _from(cls, d: Mapping, keys: tuple[str, ...], what: str) -> "Section":
        if not isinstance(d, Mapping):
            raise ParameterError(f"a {what} section must be an object, got {type(d).__name__}")
        missing = [k for k in keys if k not in d]
        if missing:
            raise ParameterError(f"a {what} section lacks {', '.join(missing)}")
        return cls(*(d[k] for k in keys))

    # ------------------------------------------------------------------------------ label JSON
    def to_label(self) -> dict:
        """The label JSON's form (own timeline only): ``{startMilliSec, durationMilliSec}``."""
        return dict(zip(LABEL_KEYS, self._values()[:2]))

    # ------------------------------------------------------------------------- compare --json
    def to_interface(self) -> dict:
        """``compare --json``'s form: ``startMilliSec``, ``durationMilliSec`` (A's timeline),
        ``otherStartMilliSec``, ``otherDurationMilliSec`` (B's)."""
        return dict(zip(INTERFACE_KEYS, self._values()))

    @classmethod
    def from_interface(cls, d: Mapping) -> "Section":
        """Inverse of :meth:`to_interface` (ParameterError on a missing key or a non-integer)."""
        return cls._from(d, INTERFACE_KEYS, "compare JSON")

    # ------------------------------------------------------------------------------- truth CSV
    def to_truth(self) -> dict:
        """The truth CSV's form: ``startMilliSec``, ``durationMilliSec`` (the cover's timeline),
        ``originalStartMilliSec``, ``originalDurationMilliSec`` (the original's)."""
        return dict(zip(TRUTH_KEYS, self._values()))

    @classmethod
    def from_truth(cls, d: Mapping) -> "Section":
        """Inverse of :meth:`to_truth` (ParameterError on a missing key or a non-integer)."""
        return cls._from(d, TRUTH_KEYS, "truth")

    # ------------------------------------------------------------------------- matches table row
    def to_row(self) -> dict:
        """One element of the ``matches`` table's ``*_sections`` arrays: ``query_start_ms``,
        ``query_duration_ms``, ``original_start_ms``, ``original_duration_ms``."""
        return dict(zip(ROW_KEYS, self._values()))

    @classmethod
    def from_row(cls, d: Mapping) -> "Section":
        """Inverse of :meth:`to_row` (ParameterError on a missing key or a non-integer)."""
        return cls._from(d, ROW_KEYS, "matches row")


def truth_json(sections: Iterable[Section]) -> str:
    """A truth CSV cell: the sections' :meth:`~Section.to_truth` dicts as compact JSON."""
    return json.dumps([s.to_truth() for s in sections], separators=(",", ":"))


def parse_truth_json(text: str) -> tuple[Section, ...]:
    """Inverse of :func:`truth_json`; an empty cell gives no sections.

    Raises
    ------
    ParameterError
        Text that is not a JSON list of truth sections.
    """
    if not text:
        return ()
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise ParameterError(f"truth sections are not JSON: {exc}") from exc
    if not isinstance(items, list):
        raise ParameterError("truth sections must be a JSON list")
    return tuple(Section.from_truth(d) for d in items)

"""What a sweep run has to do, from what the warehouse holds. Pure: no Spark.

A nightly sweep must only do new work and still give the result a full sweep would give:

- **features** are computed for tracks that are new or whose digest changed (new MIDI, new label
  roles, other feature settings: :func:`.features.feature_digest`); rows of tracks gone from
  ``tracks`` are deleted;
- a **query** is scored against every original again (*full*) when it is new or changed, when the
  run is ``--full``, or when one of its stored matches points at an original that is gone or
  changed (the candidate that ranked just below the kept ``top_k`` was not stored, so a removal
  cannot be patched);
- every other query is scored only against the **new or changed originals** (*partial*), and the
  result merged with its stored matches: a pair's result depends only on its two tracks, so the
  merge equals a full rescoring of that query, up to the candidate retrieval of the unchanged
  originals (their retrieval scores shift a little when the catalog's shingle frequencies change;
  ``--full`` redoes them).

A run with nothing new plans nothing, and the stage then starts no Spark work.

Examples
--------
>>> tracks = {"a": ("d1", True), "b": ("d2", False)}
>>> p = plan_sweep(tracks, stored={}, matched={}, full=False)
>>> p.compute, p.queries_full, p.queries_partial, p.new_originals
(('a', 'b'), ('a', 'b'), (), ('a',))
>>> again = plan_sweep(tracks, stored={"a": ("d1", True), "b": ("d2", False)}, matched={"b": ["a"]}, full=False)
>>> again.nothing_to_do
True
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping

__all__ = ["SweepPlan", "plan_sweep"]


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """The work of one sweep run.

    Attributes
    ----------
    compute : tuple of str
        Tracks whose features are (re)computed.
    removed : tuple of str
        Tracks whose features and matches are deleted (gone from ``tracks``).
    queries_full : tuple of str
        Queries scored against every original.
    queries_partial : tuple of str
        Queries scored against ``new_originals`` only, merged with their stored matches.
    new_originals : tuple of str
        Originals that are new or changed in this run.
    originals : tuple of str
        Every original after this run.
    """

    compute: tuple
    removed: tuple
    queries_full: tuple
    queries_partial: tuple
    new_originals: tuple
    originals: tuple

    @property
    def nothing_to_do(self) -> bool:
        return not (self.compute or self.removed or self.queries_full or self.queries_partial)

    def describe(self) -> str:
        """One line for the log."""
        return (f"features to compute {len(self.compute)}, removed {len(self.removed)}; queries: "
                f"{len(self.queries_full)} against all {len(self.originals)} originals, "
                f"{len(self.queries_partial)} against {len(self.new_originals)} new or changed originals")


def plan_sweep(tracks: Mapping[str, tuple[str, bool]], *, stored: Mapping[str, tuple[str, bool]],
               matched: Mapping[str, Iterable[str]], full: bool = False) -> SweepPlan:
    """Plan a sweep run.

    Parameters
    ----------
    tracks : mapping str -> (str, bool)
        Every track now: its feature digest and whether it is an original.
    stored : mapping str -> (str, bool)
        The ``features`` table: digest and original flag per track (the same source).
    matched : mapping str -> iterable of str
        Per query, the originals of its stored ``matches`` rows (the same source).
    full : bool
        Redo everything (features too).

    Returns
    -------
    SweepPlan
    """
    compute = sorted(t for t, dig in tracks.items() if full or stored.get(t) != dig)
    removed = sorted(set(stored) - set(tracks))
    originals = sorted(t for t, (_, orig) in tracks.items() if orig)
    changed = set(compute)
    new_originals = sorted(t for t in originals if t in changed)
    # an original that is gone, changed, or no longer an original invalidates the rows pointing at it
    gone = set(removed) | {t for t in changed if stored.get(t, (None, False))[1]} | \
        {t for t, (_, orig) in stored.items() if orig and t in tracks and not tracks[t][1]}
    queries_full = sorted(t for t in tracks if t in changed
                          or any(o in gone for o in matched.get(t, ())))
    queries_partial = [] if not new_originals else sorted(t for t in tracks if t not in set(queries_full))
    return SweepPlan(tuple(compute), tuple(removed), tuple(queries_full), tuple(queries_partial),
                     tuple(new_originals), tuple(originals))

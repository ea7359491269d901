"""Sweep settings: the ``sweep:`` section of ``conf/*.yaml`` as a frozen dataclass.

Library code never reads the file; the CLI and jobs call :meth:`SweepSettings.from_config` once
and pass the result down. Defaults here equal the packaged ``resources/defaults.yaml`` values.
"""

from __future__ import annotations

import dataclasses

from ..config import SectionSettings
from ..errors import ParameterError

__all__ = ["SweepSettings"]


@dataclasses.dataclass(frozen=True)
class SweepSettings(SectionSettings):
    """How much the sweep keeps and how it cuts the work into Spark tasks.

    Attributes
    ----------
    top_k : int
        ``matches`` rows kept per query (ranks 1..top_k); ``musim similarity --top-k`` overrides it.
    tracks_per_task : int
        Tracks whose features one Spark task computes (about 10-20 ms each).
    queries_per_task : int
        Queries one scoring task takes (each with its retrieved candidates, a few ms per pair).
    originals_match_originals : bool
        Score originals against the other originals too (catalog-internal plagiarism); covers are
        never candidates, so covers of one original do not match each other.
    progress_every_s : float
        Seconds between progress lines of a long phase (tasks done of total, rate, time left).
    melody_first : bool
        Exact scoring scores every candidate's melody facet first and all three facets only of
        those that can reach the query's best ``top_k`` (:func:`.scoring.melody_first_selection`):
        the same ``matches`` rows at a fraction of the cost.
    broadcast_index_max_mb : float
        Candidate retrieval holds the originals' shingle index in memory and broadcasts it to the
        tasks when its size (an upper bound: every distinct (original, shingle) at 24 B) is at
        most this many MiB; else it runs as Spark joins. 0 = always joins.
    broadcast_features_max_mb : float
        Exact scoring broadcasts the stored features of every original that is some query's
        candidate when they are at most this many MiB, and each task scores its queries from the
        candidates' ids; else the features are joined to every candidate pair. 0 = always joined.
    decoded_cache_tracks : int
        Decoded candidate features a Python worker keeps across its tasks (least recently used
        out first; about 171 KB each): bounds a worker's memory whatever the catalog's size.
    """

    SECTION = "sweep"

    top_k: int = 10
    tracks_per_task: int = 200
    queries_per_task: int = 100
    originals_match_originals: bool = True
    progress_every_s: float = 30.0
    melody_first: bool = True
    broadcast_index_max_mb: float = 2048.0
    broadcast_features_max_mb: float = 2048.0
    decoded_cache_tracks: int = 4000

    def __post_init__(self):
        for name in ("top_k", "tracks_per_task", "queries_per_task"):
            if int(getattr(self, name)) < 1:
                raise ParameterError(f"sweep.{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("broadcast_index_max_mb", "broadcast_features_max_mb", "decoded_cache_tracks"):
            if getattr(self, name) < 0:
                raise ParameterError(f"sweep.{name} must be >= 0, got {getattr(self, name)!r}")


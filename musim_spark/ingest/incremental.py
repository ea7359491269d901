"""What a run must do, from this listing and what earlier runs recorded. Pure, no Spark.

The state of a track is ``{path: (size, mtime)}`` of its files (``(None, None)`` for a required
file that is missing). Earlier runs left that state in two tables:

- ``tracks``: a good track's paths, sizes and modification times;
- ``quarantine``: each rejected file's size and time (``file_bytes``, ``file_mtime``); a rejected
  track's rows are those of the latest run that rejected it.

Rules (issue 5):

- a good track whose state is unchanged is skipped (no file is opened);
- a track still rejected with the same state is skipped (no new quarantine rows);
- a changed track is parsed again; its rows are replaced (or deleted, if it is now rejected);
- a good track whose files are all gone is deleted from ``tracks``/``labels``/``notes`` and each
  of its files gets a ``REMOVED`` quarantine row (what was ingested and when);
- a file outside any track (stray, misnamed, duplicate label) is recorded again only when its
  reason, size or time changed;
- anything new is parsed.

Removals are bounded (issue 13): a root that lost most of its files (emptied, unmounted, a wrong
path) looks exactly like a data set whose tracks were all deleted, so a run that would remove
more than ``ingest.max_removed_share`` of the tracks in ``tracks`` is refused before anything is
written (:func:`check_removals`), for a plain root and for zip input alike; ``musim ingest
--allow-removals N%`` says the removals are meant.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Iterable, Mapping

from ..errors import ParameterError, QuarantineReason
from .scan import MEMBERS, Listing, Rejection

__all__ = ["Plan", "plan_run", "check_removals", "previous_good_state", "previous_quarantine_state",
           "TRACK_REASONS"]

#: Reasons recorded for the files of a track (as opposed to a loose file that belongs to none).
TRACK_REASONS = frozenset(
    r.value for r in QuarantineReason
    if r not in (QuarantineReason.STRAY_FILE, QuarantineReason.NAME_FOLDER_MISMATCH,
                 QuarantineReason.LABEL_DUPLICATE, QuarantineReason.ZIP_ENTRY_UNSAFE,
                 QuarantineReason.ZIP_TOO_LARGE, QuarantineReason.ZIP_CORRUPT,
                 QuarantineReason.DUPLICATE, QuarantineReason.NAME_NOT_UTF8)
)

State = Mapping[str, tuple]


@dataclasses.dataclass
class Plan:
    """The work of one run.

    Attributes
    ----------
    to_parse : list of TrackFiles
        Complete tracks that are new or changed (parsed in Spark tasks).
    rejections : list of Rejection
        Rows the driver records this run: loose files, incomplete tracks, removed tracks.
    delete_track_ids : list of str
        Good tracks of earlier runs whose rows must go (removed, or now incomplete). Tracks
        re-parsed are replaced by key anyway, so they are not listed here.
    new, changed, unchanged_good, unchanged_rejected, removed : int
        Track counts (``changed`` includes tracks that changed from or to rejected).
    unchanged_rejected_files : int
        Files of skipped rejections (tracks still rejected, loose files already recorded).
    """

    to_parse: list = dataclasses.field(default_factory=list)
    rejections: list = dataclasses.field(default_factory=list)
    delete_track_ids: list = dataclasses.field(default_factory=list)
    new: int = 0
    changed: int = 0
    unchanged_good: int = 0
    unchanged_rejected: int = 0
    removed: int = 0
    unchanged_rejected_files: int = 0


def previous_good_state(rows: Iterable[Mapping]) -> dict[str, dict[str, tuple]]:
    """``{track_id: state}`` from ``tracks`` rows (``<m>_path``, ``<m>_bytes``, ``<m>_mtime`` in µs)."""
    out: dict[str, dict[str, tuple]] = {}
    for row in rows:
        state = {}
        for m in MEMBERS:
            path = row.get(f"{m}_path")
            if path:
                state[path] = (row.get(f"{m}_bytes"), row.get(f"{m}_mtime"))
        out[row["track_id"]] = state
    return out


def previous_quarantine_state(rows: Iterable[Mapping]) -> tuple[dict[str, dict[str, tuple]], dict[str, tuple]]:
    """Latest rejection state per track and per loose file from ``quarantine`` rows of stage ingest.

    Parameters
    ----------
    rows : iterable of mapping
        ``path``, ``track_id``, ``reason``, ``file_bytes``, ``file_mtime`` (µs), ``run_id``.

    Returns
    -------
    tracks : dict
        ``{track_id: state}`` from the latest run with track rows for it; a track whose latest
        rows are ``REMOVED`` gets no entry (it must be parsed when it comes back).
    loose : dict
        ``{path: (reason, size, mtime)}`` of the latest row per path.
    """
    latest_run: dict[str, str] = {}
    by_track: dict[tuple[str, str], list] = {}
    loose: dict[str, tuple] = {}
    loose_run: dict[str, str] = {}
    for row in rows:
        run, path, reason = row["run_id"], row["path"], row["reason"]
        if path not in loose_run or run >= loose_run[path]:
            loose_run[path] = run
            loose[path] = (reason, row.get("file_bytes"), row.get("file_mtime"))
        tid = row.get("track_id")
        if tid and reason in TRACK_REASONS:
            by_track.setdefault((tid, run), []).append(row)
            if run > latest_run.get(tid, ""):
                latest_run[tid] = run
    tracks: dict[str, dict[str, tuple]] = {}
    for tid, run in latest_run.items():
        rows_ = by_track[(tid, run)]
        if any(r["reason"] == QuarantineReason.REMOVED.value for r in rows_):
            continue
        tracks[tid] = {r["path"]: (r.get("file_bytes"), r.get("file_mtime")) for r in rows_}
    return tracks, loose


def plan_run(listing: Listing, *, good: Mapping[str, State], rejected: Mapping[str, State],
             loose: Mapping[str, tuple], run_label: Mapping[str, str] | None = None) -> Plan:
    """Decide, for each track and loose file of ``listing``, what this run does.

    Parameters
    ----------
    listing : Listing
    good : mapping
        :func:`previous_good_state` (empty on a first run).
    rejected, loose : mapping
        :func:`previous_quarantine_state`.
    run_label : mapping or None
        ``{track_id: run_id}`` of the good tracks, named in ``REMOVED`` details.

    Returns
    -------
    Plan
    """
    plan = Plan()
    for tid, track in listing.tracks.items():
        state = track.state()
        if tid in good:
            if track.complete and dict(good[tid]) == state:
                plan.unchanged_good += 1
                continue
            plan.changed += 1
            if track.complete:
                plan.to_parse.append(track)
            else:
                plan.delete_track_ids.append(tid)
                plan.rejections.extend(track.missing_rejections())
            continue
        if tid in rejected and dict(rejected[tid]) == state:
            plan.unchanged_rejected += 1
            plan.unchanged_rejected_files += len(track.members)
            continue
        if tid in rejected:
            plan.changed += 1
        else:
            plan.new += 1
        if track.complete:
            plan.to_parse.append(track)
        else:
            plan.rejections.extend(track.missing_rejections())
    for tid in sorted(set(good) - set(listing.tracks)):
        plan.removed += 1
        plan.delete_track_ids.append(tid)
        when = f" in run {run_label[tid]}" if run_label and tid in run_label else ""
        for path in sorted(good[tid]):
            plan.rejections.append(Rejection(
                path, QuarantineReason.REMOVED,
                f"{path} of track {tid} (ingested{when}) is no longer under the root; its rows were deleted",
                tid,
            ))
    for r in listing.rejections:
        before = loose.get(r.path)
        if before is not None and before == (r.reason.value, r.size, r.mtime_us):
            plan.unchanged_rejected_files += 1
            continue
        plan.rejections.append(r)
    return plan


def check_removals(plan: Plan, *, stored: int, max_share: float, root: str) -> None:
    """Refuse a run that would remove more than ``max_share`` of the ``stored`` good tracks.

    Removed means deleted from ``tracks`` (``plan.delete_track_ids``: tracks whose files are all
    gone, and tracks now incomplete). Re-parsed tracks are replaced, not removed.

    Parameters
    ----------
    plan : Plan
    stored : int
        Tracks in ``tracks`` before the run.
    max_share : float
        0-1; ``ingest.max_removed_share`` or the CLI's ``--allow-removals``.
    root : str
        The ``--root`` given, for the message.

    Raises
    ------
    ParameterError
        One line: how many of how many, the root, and the option that allows it.

    Examples
    --------
    >>> check_removals(Plan(delete_track_ids=["a"]), stored=10, max_share=0.1, root="/data")
    >>> check_removals(Plan(delete_track_ids=["a", "b"]), stored=10, max_share=0.1, root="/data")
    Traceback (most recent call last):
        ...
    musim_spark.errors.ParameterError: --root /data: this run would remove 2 of 10 tracks (20%, over the allowed 10%); an empty, unmounted or wrong root? Rerun with --allow-removals 20% (or ingest.max_removed_share) if the removals are meant
    """
    n = len(plan.delete_track_ids)
    if n == 0 or n <= max_share * stored:
        return
    share = n / stored if stored else 1.0
    need = f"{math.ceil(share * 1000) / 10:g}%"  # rounded up: the option it names must let this run pass
    raise ParameterError(
        f"--root {root}: this run would remove {n} of {stored} tracks ({share * 100:.3g}%, over the allowed "
        f"{max_share * 100:.3g}%); an empty, unmounted or wrong root? Rerun with --allow-removals {need} "
        f"(or ingest.max_removed_share) if the removals are meant"
    )

"""Arrow in, Arrow out: the batches ingest's Spark tasks consume and produce. Pure: no Spark.

The stage (:mod:`.stage`) hands Spark two things from here: the *descriptor* rows of the tracks
to parse (paths, sizes, times; cut into byte-balanced task slices), and the function each task
applies to its descriptor batches. That function parses every track (:func:`.parse.parse_track`)
and returns one row per track holding its ``tracks`` row, ``labels`` row, ``notes`` and
``quarantine`` rows as nested columns (:data:`PARSED_SCHEMA`), so the stage can write four
tables from one parse.

Examples
--------
>>> [f.name for f in PARSED_SCHEMA]
['track_id', 'track', 'label', 'notes', 'quarantine']
>>> DESCRIPTOR_SCHEMA.names[:4]
['track_id', 'wav_path', 'wav_bytes', 'wav_mtime']
"""

from __future__ import annotations

from typing import Iterable, Sequence

import pyarrow as pa

from ..io.tables import TABLES
from ..layout import parse_track_id
from .parse import NOTE_COLUMNS, ParsedTrack, parse_track, quarantine_row, unexpected_failure
from .scan import MEMBERS, FileStat, Rejection, TrackFiles
from .settings import IngestSettings

__all__ = [
    "DESCRIPTOR_SCHEMA",
    "PARSED_SCHEMA",
    "descriptor_slices",
    "parse_descriptors",
    "rejection_table",
    "timestamps_to_us",
]

#: One track to parse: its id and each member's path, size (bytes) and mtime (us); null where absent.
DESCRIPTOR_SCHEMA = pa.schema(
    [pa.field("track_id", pa.string(), False)]
    + [f for m in MEMBERS for f in (
        pa.field(f"{m}_path", pa.string()), pa.field(f"{m}_bytes", pa.int64()), pa.field(f"{m}_mtime", pa.int64()))]
)

#: One parsed track: its rows of the four tables (``track``/``label`` null and ``notes`` empty if rejected).
PARSED_SCHEMA = pa.schema([
    pa.field("track_id", pa.string(), False),
    pa.field("track", pa.struct(list(TABLES["tracks"].schema))),
    pa.field("label", pa.struct(list(TABLES["labels"].schema))),
    pa.field("notes", pa.list_(pa.struct(list(TABLES["notes"].schema)))),
    pa.field("quarantine", pa.list_(pa.struct(list(TABLES["quarantine"].schema)))),
])


def descriptor_slices(tracks: Iterable[TrackFiles], n_tasks: int) -> list[list[tuple]]:
    """Cut the tracks, sorted by id, into ``n_tasks`` contiguous slices of about equal bytes.

    Contiguous ids keep each written file's ``track_id`` min/max range narrow, so a later
    replace-by-key rewrites only the few files that can hold a changed track (delta-rs prunes
    files by those statistics).

    Parameters
    ----------
    tracks : iterable of TrackFiles
    n_tasks : int
        Number of slices (>= 1); a slice may be empty.

    Returns
    -------
    list of list of tuple
        Per slice, rows in the column order of :data:`DESCRIPTOR_SCHEMA`.
    """
    ordered = sorted(tracks, key=lambda t: t.track_id)
    sizes = [sum(f.size for f in t.members.values()) for t in ordered]
    total = sum(sizes) or 1
    slices: list[list[tuple]] = [[] for _ in range(n_tasks)]
    done = 0
    for t, size in zip(ordered, sizes):
        index = min(n_tasks - 1, done * n_tasks // total)
        done += size
        row = [t.track_id]
        for m in MEMBERS:
            f = t.members.get(m)
            row += [f.path, f.size, f.mtime_us] if f else [None, None, None]
        slices[index].append(tuple(row))
    return slices


def parse_descriptors(batch: pa.RecordBatch, *, root: str, settings: IngestSettings, run_id: str,
                      now_us: int) -> pa.RecordBatch:
    """Parse the tracks of one descriptor batch into one :data:`PARSED_SCHEMA` batch.

    Parameters
    ----------
    batch : pyarrow.RecordBatch
        Rows of :data:`DESCRIPTOR_SCHEMA`.
    root : str
        Absolute data-set root the paths are relative to.
    settings : IngestSettings
    run_id : str
        Written into every row.
    now_us : int
        ``ingested_at`` / ``quarantined_at``, microseconds since the epoch (UTC).

    Returns
    -------
    pyarrow.RecordBatch
        One row per descriptor, in order. A track whose parsing raises unexpectedly is
        quarantined (``PARSE_ERROR``) instead of failing the batch.
    """
    note_struct = PARSED_SCHEMA.field("notes").type.value_type
    ids, tracks, labels, quarantine = [], [], [], []
    note_cols: dict[str, list] = {c: [] for c in NOTE_COLUMNS}
    offsets = [0]
    for d in batch.to_pylist():
        members = {
            m: FileStat(d[f"{m}_path"], d[f"{m}_bytes"], d[f"{m}_mtime"])
            for m in MEMBERS if d[f"{m}_path"] is not None
        }
        tf = TrackFiles(parse_track_id(d["track_id"]), members)
        try:
            parsed = parse_track(root, tf, settings=settings)
        except Exception as exc:  # noqa: BLE001 - one bad track must not fail the stage
            parsed = ParsedTrack(tf.track_id, rejections=unexpected_failure(tf, exc))
        ids.append(d["track_id"])
        if parsed.track is not None:
            parsed.track.update(root=root, run_id=run_id, ingested_at=now_us)
            parsed.label["run_id"] = run_id
            for c in NOTE_COLUMNS:
                note_cols[c].extend(parsed.notes[c])
        tracks.append(parsed.track)
        labels.append(parsed.label)
        offsets.append(len(note_cols["pitch"]))
        quarantine.append([quarantine_row(r, run_id=run_id, now_us=now_us) for r in parsed.rejections])
    n_notes = len(note_cols["pitch"])
    children = [
        pa.array(note_cols[f.name] if f.name != "run_id" else [run_id] * n_notes, type=f.type)
        for f in note_struct
    ]
    notes = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()),
                                     pa.StructArray.from_arrays(children, fields=list(note_struct)))
    return pa.RecordBatch.from_arrays(
        [
            pa.array(ids, pa.string()),
            pa.array(tracks, type=PARSED_SCHEMA.field("track").type),
            pa.array(labels, type=PARSED_SCHEMA.field("label").type),
            notes,
            pa.array(quarantine, type=PARSED_SCHEMA.field("quarantine").type),
        ],
        schema=PARSED_SCHEMA,
    )


def rejection_table(rows: Sequence[Rejection], *, run_id: str, now_us: int) -> pa.Table:
    """The ``quarantine`` rows of rejections found on the driver (listing, planning, zip landing)."""
    return pa.Table.from_pylist([quarantine_row(r, run_id=run_id, now_us=now_us) for r in rows],
                                schema=TABLES["quarantine"].schema)


def timestamps_to_us(table: pa.Table, columns: Iterable[str]) -> pa.Table:
    """Timestamp columns (those of ``columns`` that ``table`` has) as int64 microseconds since the epoch.

    The planner compares file times as the integers the listing gives (:class:`.scan.FileStat`).
    """
    for c in columns:
        i = table.schema.get_field_index(c)
        if i >= 0:
            table = table.set_column(i, c, table.column(c).cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()))
    return table

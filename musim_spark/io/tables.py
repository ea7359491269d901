"""The table contract: names, Arrow schemas, keys and partitioning of every Delta table.

Users script against these names and columns (shared/spec/interface.md): extend them freely,
never rename or drop a column. Every table lives in its own directory under the warehouse
(:func:`table_uri`); all reads and writes go through :mod:`musim_spark.io` (writers take a
:class:`~musim_spark.io.plan.WritePlan`, readers are in :mod:`musim_spark.io.read`).

Conventions
-----------
- Times are ``timestamp[us, tz=UTC]`` (never ``timestamp_ntz``: it raises the Delta protocol to
  reader 3 / writer 7, which older delta-spark readers on a cluster refuse).
- Durations and positions of notes are seconds (``double``); sections are milliseconds (``int64``).
- Every row carries the ``run_id`` (:mod:`musim_spark.runs`) of the run that wrote it.
- ``keys`` are the columns a ``mode="replace"`` write replaces rows by (an incremental stage
  replaces every row of a track it re-processed); ``partition_by`` is the Delta partitioning.

Pure pyarrow (the Spark form of a schema is :func:`musim_spark.io.spark_io.spark_schema`).

Examples
--------
>>> TABLES["tracks"].keys
('track_id',)
>>> table_uri("/data/warehouse", "notes")
'/data/warehouse/notes'
"""

from __future__ import annotations

import dataclasses
import os
import types
from typing import Mapping

import pyarrow as pa

from ..errors import ParameterError
from ..sections import ROW_KEYS

__all__ = [
    "TableSpec",
    "TABLES",
    "TIMESTAMP",
    "SECTION_TYPE",
    "table_spec",
    "table_uri",
]

#: The one timestamp type of every table: microseconds, UTC (Delta protocol (1, 2) compatible).
TIMESTAMP = pa.timestamp("us", tz="UTC")

#: One same-section entry of ``matches``: where in the query and where in the original (ms).
SECTION_TYPE = pa.struct([pa.field(key, pa.int64(), nullable=False) for key in ROW_KEYS])


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """One Delta table of the warehouse.

    Attributes
    ----------
    name : str
        Directory name under the warehouse, and the name users script against.
    schema : pa.Schema
        Column names, types and nullability. A field with ``nullable=False`` must never hold a
        null: :mod:`musim_spark.io.commit` refuses such a write.
    keys : tuple of str
        The columns identifying the rows a ``mode="replace"`` write replaces.
    partition_by : tuple of str
        Delta partition columns (empty: not partitioned).
    description : str
        One line for ``musim status`` and the README.
    """

    name: str
    schema: pa.Schema
    keys: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        names = set(self.schema.names)
        missing = [c for c in (*self.keys, *self.partition_by) if c not in names]
        if missing:
            raise ParameterError(f"table {self.name!r}: key/partition column(s) {missing} not in its schema")


def _f(name: str, type_: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable)


_STR = pa.string()
_I32 = pa.int32()
_I64 = pa.int64()
_F64 = pa.float64()

# --- tracks: one row per track that passed ingest (issue 5) -------------------------------------
_TRACKS = pa.schema(
    [
        _f("track_id", _STR, False),
        _f("kind", _STR, False),            # Similar | Regular
        _f("genre", _STR, False),
        _f("song_no", _STR, False),         # five digits, kept as text ("00268")
        _f("version", _STR, False),         # Org | Cover_<Type>_<Range>
        _f("cover_type", _STR),             # e.g. Rhythm_A; null for Org
        _f("cover_range", _STR),            # A-D; null for Org or range-less folders
        _f("original_track_id", _STR),      # the Org of the same song (itself for an Org)
        # paths relative to the data-set root, POSIX separators
        _f("wav_path", _STR),
        _f("mid_path", _STR),
        _f("xml_path", _STR),
        _f("json_path", _STR),
        # sizes (bytes), modification times and content hashes: incremental runs compare them
        _f("wav_bytes", _I64),
        _f("mid_bytes", _I64),
        _f("xml_bytes", _I64),
        _f("json_bytes", _I64),
        _f("wav_mtime", TIMESTAMP),
        _f("mid_mtime", TIMESTAMP),
        _f("xml_mtime", TIMESTAMP),
        _f("json_mtime", TIMESTAMP),
        _f("wav_sha256", _STR),
        _f("mid_sha256", _STR),
        _f("xml_sha256", _STR),
        _f("json_sha256", _STR),
        # audio header facts
        _f("sample_rate", _I32),            # Hz
        _f("channels", _I32),
        _f("sample_width", _I32),           # bytes per sample
        _f("frames", _I64),
        _f("duration_s", _F64),
        # MIDI facts
        _f("midi_tracks", _I32),
        _f("midi_notes", _I64),
        _f("midi_end_s", _F64),
        _f("midi_tempo_bpm", _F64),
        # label fields, typed
        _f("category", _STR),
        _f("title", _STR),
        _f("song_genre", _STR),
        _f("bpm", _F64),
        _f("song_key", _STR),
        _f("melody_track", _STR),
        _f("rhythm_track", _STR),
        _f("chord_track", _STR),
        _f("similarity_coefficient", _F64),  # -1..1, null when empty (originals)
        _f("melody_similarity", _F64),       # 0..100, null when empty
        _f("rhythm_similarity", _F64),
        _f("chord_similarity", _F64),
        _f("play_time_s", _F64),
        _f("root", _STR),                   # absolute data-set root the paths are relative to
        _f("run_id", _STR, False),
        _f("ingested_at", TIMESTAMP, False),
    ]
)

# --- labels: every label field as delivered (strings), sections as JSON text ---------------------
_LABEL_STRING_FIELDS = (
    "data_set_version", "date",
    "category", "cover_type", "title", "composer", "lyricist", "arranger", "adaptor", "singer",
    "country", "agency", "public_year", "album", "song_genre", "bpm", "song_key", "lyric_text",
    "similarity_coefficient", "melody_similarity", "rhythm_similarity", "chord_similarity",
    "melody_track", "rhythm_track", "chord_track",
    "play_time", "file_type", "authoring_tool", "sound_path", "midi_path",
)
_LABELS = pa.schema(
    [_f("track_id", _STR, False)]
    + [_f(name, _STR) for name in _LABEL_STRING_FIELDS]
    + [
        _f("instrument_list", _STR),        # JSON text of instrumentList
        _f("melody_same_section", _STR),    # JSON text of melodySameSection
        _f("rhythm_same_section", _STR),
        _f("chord_same_section", _STR),
        _f("raw_json", _STR, False),        # the label file as read (UTF-8 text)
        _f("run_id", _STR, False),
    ]
)

# --- notes / transcribed_notes -------------------------------------------------------------------
_NOTES = pa.schema(
    [
        _f("track_id", _STR, False),
        _f("track_index", _I32),            # position of the MIDI track in the file (names may repeat)
        _f("track_name", _STR),             # MIDI track name (e.g. Melody)
        _f("role", _STR),                   # melody | rhythm | chord | other
        _f("program", _I32),                # GM program 0-127
        _f("is_drum", pa.bool_()),
        _f("pitch", _I32, False),           # MIDI note number
        _f("start_s", _F64, False),         # seconds
        _f("end_s", _F64, False),           # seconds
        _f("velocity", _I32),
        _f("run_id", _STR, False),
    ]
)

# --- quarantine ----------------------------------------------------------------------------------
_QUARANTINE = pa.schema(
    [
        _f("path", _STR, False),            # relative to the data-set root where known
        _f("track_id", _STR),
        _f("stage", _STR, False),           # ingest | transcribe | similarity ...
        _f("reason", _STR, False),          # musim_spark.errors.QuarantineReason value
        _f("detail", _STR),
        _f("file_bytes", _I64),             # size of the file when rejected; null for a missing file
        _f("file_mtime", TIMESTAMP),        # its modification time (incremental runs compare them)
        _f("run_id", _STR, False),
        _f("quarantined_at", TIMESTAMP, False),
    ]
)

# --- matches -------------------------------------------------------------------------------------
_MATCHES = pa.schema(
    [
        _f("query_track_id", _STR, False),
        _f("original_track_id", _STR, False),
        _f("rank", _I32, False),            # 1 = most similar
        _f("melody_similarity", _F64),      # 0..100
        _f("rhythm_similarity", _F64),
        _f("chord_similarity", _F64),
        _f("similarity_coefficient", _F64),  # -1..1
        _f("is_similar", pa.bool_()),
        _f("melody_significance", _F64),    # -log10 P of the melody alignment: the rank's key (unbounded)
        _f("source", _STR, False),          # midi | audio
        _f("melody_sections", pa.list_(SECTION_TYPE)),
        _f("rhythm_sections", pa.list_(SECTION_TYPE)),
        _f("chord_sections", pa.list_(SECTION_TYPE)),
        _f("run_id", _STR, False),
    ]
)

# --- features: one row per (track, source), what the sweep computes once per track ------------------
_FEATURES = pa.schema(
    [
        _f("track_id", _STR, False),
        _f("source", _STR, False),          # midi | audio
        _f("is_original", pa.bool_(), False),  # an Org version: a candidate every track is compared with
        _f("digest", _STR, False),          # what the row was computed from (sweep.features.feature_digest)
        _f("features", pa.binary()),        # sweep.features.encode_features; null when they failed
        _f("retrieval_keys", pa.list_(_I64)),  # retrieval shingle hashes, every occurrence (musim_spark.retrieval)
        _f("retrieval_times", pa.list_(_F64)),  # each occurrence's time in the track (s): the local window
        _f("melody_notes", _I32),
        _f("duration_s", _F64),
        _f("error", _STR),                  # why there are no features (also quarantined); null when fine
        _f("run_id", _STR, False),
    ]
)

# --- transcriptions: one row per track the transcribe stage processed (its incremental state) ----
_TRANSCRIPTIONS = pa.schema(
    [
        _f("track_id", _STR, False),
        _f("backend", _STR, False),         # basic-pitch | omnizart
        _f("digest", _STR, False),          # audio hash + backend + settings (audio.rows.transcription_digest)
        _f("wav_sha256", _STR),
        _f("duration_s", _F64),             # end of the last transcribed note (s)
        _f("notes", _I64),                  # rows written to transcribed_notes (0 when it failed)
        _f("seconds", _F64),                # wall-clock time of the transcription in its task
        _f("device", _STR),                 # cpu | cuda:N (what the model ran on)
        _f("reason", _STR),                 # quarantine reason when it failed; null when fine
        _f("detail", _STR),
        _f("run_id", _STR, False),
    ]
)

# --- runs: one row per (run, stage), what `musim status` lists ----------------------------------
_RUNS = pa.schema(
    [
        _f("run_id", _STR, False),
        _f("stage", _STR, False),
        _f("started_at", TIMESTAMP, False),
        _f("finished_at", TIMESTAMP),
        _f("rows_in", _I64),
        _f("rows_out", _I64),
        _f("quarantined", _I64),
        _f("status", _STR, False),          # ok | failed | skipped
        _f("conf_fingerprint", _STR),
    ]
)

#: Every table of the warehouse, by name.
TABLES: Mapping[str, TableSpec] = types.MappingProxyType(
    {
        spec.name: spec
        for spec in (
            TableSpec("tracks", _TRACKS, keys=("track_id",),
                      description="one row per track that passed ingest"),
            TableSpec("labels", _LABELS, keys=("track_id",),
                      description="the label JSON of each ingested track, fields as delivered"),
            TableSpec("notes", _NOTES, keys=("track_id",),
                      description="notes of the data set's own MIDI"),
            TableSpec("transcribed_notes", _NOTES, keys=("track_id",),
                      description="notes from our transcription of the audio"),
            TableSpec("quarantine", _QUARANTINE, keys=("path", "stage"),
                      description="one row per rejected input and run that rejected it (appended: a "
                                  "file's current state is its latest row; rows of a track fixed "
                                  "later stay as its history)"),
            TableSpec("features", _FEATURES, keys=("track_id", "source"),
                      description="per-track similarity features and retrieval keys (the sweep's cache)"),
            TableSpec("matches", _MATCHES, keys=("query_track_id", "source"),
                      description="one row per (query, candidate original) kept by the sweep"),
            TableSpec("transcriptions", _TRANSCRIPTIONS, keys=("track_id",),
                      description="one row per transcribed track: audio hash, backend, device, time, "
                                  "or why it failed (the transcribe stage's incremental state)"),
            TableSpec("runs", _RUNS, keys=("run_id", "stage"),
                      description="one row per stage of each run"),
        )
    }
)


def table_spec(name: str) -> TableSpec:
    """The :class:`TableSpec` named ``name``.

    Raises
    ------
    ParameterError
        If no such table exists (the message lists the known ones).
    """
    try:
        return TABLES[name]
    except KeyError as exc:
        raise ParameterError(f"unknown table {name!r}; known: {sorted(TABLES)}") from exc


def table_uri(warehouse: str | os.PathLike, name: str) -> str:
    """Where table ``name`` lives under ``warehouse`` (a local directory or a ``scheme://`` URI).

    Parameters
    ----------
    warehouse : str or path-like
        The warehouse root (``--warehouse``).
    name : str
        A key of :data:`TABLES`.

    Returns
    -------
    str
        A local absolute path when ``warehouse`` is local, else ``<warehouse>/<name>``.
    """
    table_spec(name)
    root = os.fspath(warehouse)
    if "://" in root:
        return root.rstrip("/") + "/" + name
    return os.path.join(os.path.abspath(root), name)

"""One track's files to table rows, or to quarantine rows. Pure: runs inside Spark tasks.

Each file is checked on its own, so a track with two bad files reports both; the good files of a
rejected track are quarantined as ``TRACK_REJECTED`` (the detail names the bad file). Checks:

- ``.wav``: RIFF/WAVE chunk headers only (:mod:`.wavheader`): format, and that the ``data`` chunk
  fits in the file. The samples are hashed, never decoded.
- ``.mid``: parsed with :func:`musim_spark.midi.read_midi` (``MIDI_CORRUPT``, ``MIDI_EMPTY``);
  track roles from the label's ``melodyTrack``/``rhythmTrack``/``chordTrack``
  (:func:`musim_spark.labels.track_roles`).
- ``.json``: :func:`musim_spark.labels.load_label` (BOM, ``songInfo``), optionally the full JSON
  Schema, ``soundPath``/``midiPath`` inside the root (``LABEL_PATH_ESCAPES_ROOT``) and naming this
  track's own files (``LABEL_INVALID`` otherwise).
- ``.xml``/``.musicxml``: well-formedness with a streaming expat parser (``XML_CORRUPT``), fed
  by the same reads that hash the file.

Content hashes are computed only for tracks that pass (a rejected track is re-read when it
changes anyway).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import xml.parsers.expat
from typing import Any, Mapping

from ..errors import InputError, QuarantineReason, one_line
from ..labels import (ROLE_FIELDS, field_number, field_text, label_file_paths, load_label, songinfo_numbers,
                      track_roles, validate_label)
from ..layout import TrackId
from .scan import MEMBERS, Rejection, TrackFiles
from .settings import IngestSettings
from .wavheader import WavInfo, check_wav_format, read_wav_header

__all__ = [
    "ParsedTrack",
    "parse_track",
    "check_xml",
    "label_row",
    "quarantine_row",
    "NOTE_COLUMNS",
    "unexpected_failure",
    "track_parses",
]

#: Columns of the ``notes`` rows :func:`parse_track` returns (``run_id`` added by the stage).
NOTE_COLUMNS = ("track_id", "track_index", "track_name", "role", "program", "is_drum", "pitch", "start_s",
                "end_s", "velocity")

# label JSON key -> labels column, by label section.
_TOP_FIELDS = {"version": "data_set_version", "date": "date"}
_SONGINFO_FIELDS = {
    "category": "category", "coverType": "cover_type", "title": "title", "composer": "composer",
    "lyricist": "lyricist", "arranger": "arranger", "adaptor": "adaptor", "singer": "singer",
    "country": "country", "agency": "agency", "publicYear": "public_year", "album": "album",
    "songGenre": "song_genre", "bpm": "bpm", "songKey": "song_key", "lyricText": "lyric_text",
    "similarityCoefficient": "similarity_coefficient", "melodySimilarity": "melody_similarity",
    "rhythmSimilarity": "rhythm_similarity", "chordSimilarity": "chord_similarity",
    "melodyTrack": "melody_track", "rhythmTrack": "rhythm_track", "chordTrack": "chord_track",
}
_SOUNDFILE_FIELDS = {
    "playTime": "play_time", "fileType": "file_type", "authoringTool": "authoring_tool",
    "soundPath": "sound_path", "midiPath": "midi_path",
}
_JSON_FIELDS = {
    "instrumentList": "instrument_list", "melodySameSection": "melody_same_section",
    "rhythmSameSection": "rhythm_same_section", "chordSameSection": "chord_same_section",
}


@dataclasses.dataclass
class ParsedTrack:
    """What one track became.

    Attributes
    ----------
    track_id : str
    track : dict or None
        The ``tracks`` row (without ``run_id``/``ingested_at``/``root``), None if rejected.
    label : dict or None
        The ``labels`` row (without ``run_id``), None if rejected.
    notes : dict of lists or None
        Columns :data:`NOTE_COLUMNS`, one entry per note; None if rejected.
    rejections : list of Rejection
        Empty for a good track.
    """

    track_id: str
    track: dict | None = None
    label: dict | None = None
    notes: dict | None = None
    rejections: list = dataclasses.field(default_factory=list)


def _abs(root: str, rel: str) -> str:
    return os.path.join(root, *rel.split("/"))


def _hash_file(path: str, algorithm: str, chunk: int) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def check_xml(path: str, *, name: str, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    """Check that a file is well-formed XML, hashing it in the same pass.

    Returns
    -------
    str
        The hex digest of the file.

    Raises
    ------
    InputError
        ``XML_CORRUPT`` with the expat error and its line/column.
    """
    h = hashlib.new(algorithm)
    parser = xml.parsers.expat.ParserCreate()
    # MusicXML names a DTD; never fetch or expand external entities.
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        with open(path, "rb") as f:
            while True:
                block = f.read(chunk)
                h.update(block)
                parser.Parse(block, not block)
                if not block:
                    break
    except xml.parsers.expat.ExpatError as exc:
        raise InputError(name, QuarantineReason.XML_CORRUPT,
                         f"not well-formed XML: {xml.parsers.expat.ErrorString(exc.code)} at line {exc.lineno} "
                         f"column {exc.offset}") from exc
    return h.hexdigest()


def label_row(obj: Mapping[str, Any], raw_text: str, *, track_id: str) -> dict:
    """The ``labels`` row of a parsed label: every field as delivered (text), lists as JSON text."""
    ds = obj.get("data_Set", {})
    info = ds.get("songinfo", {}) or {}
    sound = ds.get("soundFile", {}) or {}
    row: dict[str, Any] = {"track_id": track_id}
    row.update({col: field_text(ds.get(key)) for key, col in _TOP_FIELDS.items()})
    row.update({col: field_text(info.get(key)) for key, col in _SONGINFO_FIELDS.items()})
    row.update({col: field_text(sound.get(key)) for key, col in _SOUNDFILE_FIELDS.items()})
    row.update({
        col: (json.dumps(ds[key], ensure_ascii=False) if key in ds else None) for key, col in _JSON_FIELDS.items()
    })
    row["raw_json"] = raw_text
    return row


def _check_label(data: bytes, rel: str, track: TrackFiles, settings: IngestSettings) -> dict:
    obj = load_label(data, path=rel)
    # Paths first: an escaping path is the more specific (and more dangerous) fault.
    sound_rel, midi_rel = label_file_paths(obj, path=rel)
    if settings.validate_labels:
        validate_label(obj, path=rel)
    own = {"wav": sound_rel, "mid": midi_rel}
    for kind, named in own.items():
        member = track.members.get(kind)
        expected = member.path if member else f"{rel.rsplit('/', 1)[0]}/{track.track_id}.{kind}"
        if named != expected:
            key = "soundPath" if kind == "wav" else "midiPath"
            raise InputError(rel, QuarantineReason.LABEL_INVALID,
                             f"soundFile.{key} names {named}, not this track's {expected}")
    return obj


def parse_track(root: str, track: TrackFiles, *, settings: IngestSettings = IngestSettings()) -> ParsedTrack:
    """Check and parse one complete track.

    Parameters
    ----------
    root : str
        Absolute data-set root.
    track : TrackFiles
        Its files (stat facts from the listing); must have every required member.
    settings : IngestSettings

    Returns
    -------
    ParsedTrack
        Rows for a good track, or rejections (one per bad file, ``TRACK_REJECTED`` for the rest).
    """
    from ..midi import read_midi

    tid = track.tid
    errors: list[InputError] = []
    wav_info: WavInfo | None = None
    label_obj = None
    label_text = None
    piece = None
    members = track.members
    wav = members.get("wav")
    if wav is not None:
        try:
            path = _abs(root, wav.path)
            with open(path, "rb") as f:
                wav_info = read_wav_header(f, size=os.fstat(f.fileno()).st_size, path=wav.path)
            check_wav_format(wav_info, settings.wav_format, path=wav.path)
        except InputError as exc:
            errors.append(exc)
        except OSError as exc:
            errors.append(_unreadable("wav", wav.path, exc))
    js = members["json"]
    label_bytes = b""
    try:
        with open(_abs(root, js.path), "rb") as f:
            label_bytes = f.read()
        label_obj = _check_label(label_bytes, js.path, track, settings)
        label_text = label_bytes.decode("utf-8-sig")
    except InputError as exc:
        errors.append(exc)
    except OSError as exc:
        errors.append(_unreadable("json", js.path, exc))
    mid = members["mid"]
    roles = track_roles(label_obj) if label_obj else {}
    midi_bytes = b""
    try:
        with open(_abs(root, mid.path), "rb") as f:
            midi_bytes = f.read()
        piece = read_midi(midi_bytes, name=mid.path, **roles)
    except InputError as exc:
        errors.append(exc)
    except OSError as exc:
        errors.append(_unreadable("mid", mid.path, exc))
    except Exception as exc:  # noqa: BLE001 - a file pretty_midi reads but our model refuses is still corrupt
        errors.append(InputError(mid.path, QuarantineReason.MIDI_CORRUPT, f"unusable MIDI: {one_line(exc)}"))
    xml_member = members["xml"]
    xml_hash = None
    try:
        xml_hash = check_xml(_abs(root, xml_member.path), name=xml_member.path, algorithm=settings.hash_algorithm,
                             chunk=settings.read_chunk_bytes)
    except InputError as exc:
        errors.append(exc)
    except OSError as exc:
        errors.append(_unreadable("xml", xml_member.path, exc))
    wav_hash = None
    if not errors and wav is not None:
        try:
            wav_hash = _hash_file(_abs(root, wav.path), settings.hash_algorithm, settings.read_chunk_bytes)
        except OSError as exc:
            errors.append(_unreadable("wav", wav.path, exc))
    if errors:
        return ParsedTrack(tid.track_id, rejections=_rejections(track, errors))

    algo = settings.hash_algorithm
    hashes = {
        "wav": wav_hash,
        "mid": hashlib.new(algo, midi_bytes).hexdigest(),
        "xml": xml_hash,
        "json": hashlib.new(algo, label_bytes).hexdigest(),
    }
    return ParsedTrack(
        tid.track_id,
        track=_track_row(tid, track, hashes, wav_info, piece, label_obj),
        label=label_row(label_obj, label_text, track_id=tid.track_id),
        notes=_note_columns(tid.track_id, piece),
    )


def track_parses(root: str, *, settings: IngestSettings = IngestSettings()):
    """A ``parses(track) -> bool`` for :func:`.scan.scan_root`'s duplicate rule: does this copy pass?

    Used on the driver for tracks found in two folders only (rare), so the few copies are read twice.
    """

    def parses(track: TrackFiles) -> bool:
        return not parse_track(root, track, settings=settings).rejections

    return parses


def unexpected_failure(track: TrackFiles, exc: BaseException) -> list[Rejection]:
    """Rows for a track whose parsing raised something no check anticipated.

    The run must not die for one track: every member is quarantined as ``PARSE_ERROR`` with
    the error in the detail, so the track is retried when one of its files changes.
    """
    detail = f"ingest failed unexpectedly on this track: {type(exc).__name__}: {exc}"
    return [Rejection(f.path, QuarantineReason.PARSE_ERROR, detail, track.track_id, f.size, f.mtime_us)
            for kind in MEMBERS if (f := track.members.get(kind)) is not None]


def _unreadable(kind: str, rel: str, exc: OSError) -> InputError:
    """A member that vanished or cannot be opened between listing and parsing: treat as missing."""
    from .scan import MISSING_REASON

    return InputError(rel, MISSING_REASON[kind], f"cannot be read: {exc.strerror or exc}")


def _rejections(track: TrackFiles, errors: list[InputError]) -> list[Rejection]:
    bad = {e.path: e for e in errors}
    first = errors[0]
    out = []
    for kind in MEMBERS:
        f = track.members.get(kind)
        if f is None:
            continue
        err = bad.get(f.path)
        if err is not None:
            out.append(Rejection(f.path, err.reason, err.detail, track.track_id, f.size, f.mtime_us))
        else:
            out.append(Rejection(f.path, QuarantineReason.TRACK_REJECTED,
                                 f"track rejected: {first.path} ({first.reason.value}: {first.detail})",
                                 track.track_id, f.size, f.mtime_us))
    return out


def _track_row(tid: TrackId, track: TrackFiles, hashes: Mapping[str, str | None], wav: WavInfo | None, piece,
               label: Mapping[str, Any]) -> dict:
    ds = label["data_Set"]
    info = ds["songinfo"]
    numbers = songinfo_numbers(label)
    row: dict[str, Any] = {
        "track_id": tid.track_id, "kind": tid.kind, "genre": tid.genre, "song_no": tid.song_no,
        "version": tid.version, "cover_type": None if tid.is_original else tid.cover_type,
        "cover_range": tid.cover_range, "original_track_id": tid.original_track_id,
    }
    for kind in MEMBERS:
        f = track.members.get(kind)
        row[f"{kind}_path"] = f.path if f else None
        row[f"{kind}_bytes"] = f.size if f else None
        row[f"{kind}_mtime"] = f.mtime_us if f else None
        row[f"{kind}_sha256"] = hashes.get(kind)
    row.update({
        "sample_rate": wav.sample_rate if wav else None,
        "channels": wav.channels if wav else None,
        "sample_width": wav.sample_width if wav else None,
        "frames": wav.frames if wav else None,
        "duration_s": wav.duration_s if wav else None,
        "midi_tracks": len(piece.tracks),
        "midi_notes": piece.n_notes,
        "midi_end_s": float(piece.end_time),
        "midi_tempo_bpm": piece.tempo_bpm,
        "category": field_text(info.get("category")),
        "title": field_text(info.get("title")),
        "song_genre": field_text(info.get("songGenre")),
        "bpm": numbers["bpm"],
        "song_key": field_text(info.get("songKey")),
        # as delivered ("" stays ""), unlike track_roles, which reads them for the MIDI
        **{f"{role}_track": field_text(info.get(key)) for role, key in ROLE_FIELDS.items()},
        "similarity_coefficient": numbers["similarity_coefficient"],
        "melody_similarity": numbers["melody_similarity"],
        "rhythm_similarity": numbers["rhythm_similarity"],
        "chord_similarity": numbers["chord_similarity"],
        "play_time_s": field_number((ds.get("soundFile") or {}).get("playTime")),
    })
    return row


def _note_columns(track_id: str, piece) -> dict:
    cols: dict[str, list] = {c: [] for c in NOTE_COLUMNS}
    for index, t in enumerate(piece.tracks):
        n = len(t.notes)
        cols["track_id"].extend([track_id] * n)
        cols["track_index"].extend([index] * n)
        cols["track_name"].extend([t.name] * n)
        cols["role"].extend([t.role] * n)
        cols["program"].extend([t.program] * n)
        cols["is_drum"].extend([t.is_drum] * n)
        for note in t.notes:
            cols["pitch"].append(note.pitch)
            cols["start_s"].append(note.start)
            cols["end_s"].append(note.end)
            cols["velocity"].append(note.velocity)
    return cols


def quarantine_row(r: Rejection, *, run_id: str, now_us: int, stage: str = "ingest") -> dict:
    """The ``quarantine`` row of a rejection (times in microseconds since the epoch, UTC)."""
    return {
        "path": r.path, "track_id": r.track_id, "stage": stage, "reason": QuarantineReason(r.reason).value,
        "detail": r.detail, "file_bytes": r.size, "file_mtime": r.mtime_us, "run_id": run_id,
        "quarantined_at": now_us,
    }

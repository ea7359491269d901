"""Label JSON (one per track): read tolerantly, validate strictly, write canonically.

The delivered labels differ from the written spec in small ways (shared/spec/dataset.md):
``songinfo`` vs ``songInfo``, a UTF-8 byte-order mark, Windows separators in paths, every value a
string. :func:`load_label` accepts those and normalises them (``songinfo``); anything else that
is wrong raises :class:`~musim_spark.errors.InputError` with a quarantine reason.
:func:`validate_label` checks the full JSON Schema (``shared/spec/label.schema.json``, packaged as
``musim_spark/resources/label.schema.json``) that exports must pass.

Examples
--------
>>> raw = '\\ufeff{"data_Set": {"songInfo": {"bpm": "92"}}}'.encode("utf-8")
>>> load_label(raw, path="x.json", require=False)["data_Set"]["songinfo"]["bpm"]
'92'
"""

from __future__ import annotations

import functools
import json
import math
import os
from importlib import resources
from typing import Any, Mapping

from .errors import InputError, ParameterError, QuarantineReason
from .layout import normalize_label_path

__all__ = [
    "SCHEMA",
    "REQUIRED_SONGINFO",
    "load_label",
    "read_label_file",
    "validate_label",
    "label_file_paths",
    "dump_label",
    "songinfo_numbers",
    "ROLE_FIELDS",
    "track_roles",
    "field_text",
    "field_number",
]

#: Required ``songinfo`` fields (schema's ``required``).
REQUIRED_SONGINFO = (
    "category", "coverType", "title", "composer", "singer", "songGenre",
    "bpm", "songKey", "lyricText", "melodyTrack", "chordTrack",
)
#: ``songinfo`` field naming the MIDI track of each role (:data:`musim_spark.model.ROLES` but ``other``).
ROLE_FIELDS = {"melody": "melodyTrack", "rhythm": "rhythmTrack", "chord": "chordTrack"}
_REQUIRED_TOP = ("version", "date", "songinfo", "instrumentList", "soundFile")
_REQUIRED_SOUNDFILE = ("playTime", "fileType", "soundPath", "midiPath")


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    text = resources.files("musim_spark").joinpath("resources/label.schema.json").read_text("utf-8")
    return json.loads(text)


SCHEMA: Mapping[str, Any] = _schema()


def load_label(data: bytes, *, path: str, require: bool = True) -> dict:
    """Parse one label file's bytes.

    Parameters
    ----------
    data : bytes
        The file's content.
    path : str
        The file's path, for error messages and quarantine rows.
    require : bool
        Check that the fields ingest relies on are present (top-level ``data_Set`` fields,
        :data:`REQUIRED_SONGINFO`, ``soundFile.soundPath``/``midiPath``).

    Returns
    -------
    dict
        The label, ``songInfo`` renamed to ``songinfo``.

    Raises
    ------
    InputError
        ``LABEL_NOT_UTF8`` (bytes that are not UTF-8, with the offset), ``LABEL_NOT_JSON`` (parse error
        with line/column), ``LABEL_INVALID`` (not an object with ``data_Set``), ``LABEL_MISSING_FIELDS``
        (lists every missing field).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, QuarantineReason.LABEL_NOT_UTF8,
                         f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not UTF-8") from exc
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, QuarantineReason.LABEL_NOT_JSON,
                         f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        # json's C decoder recurses per nesting level: 100,000 '[' exhaust the stack. No label nests
        # more than a few levels, so this is a malformed label, not a failure of the track.
        raise InputError(path, QuarantineReason.LABEL_NOT_JSON,
                         "not JSON a label can be: nested deeper than the parser's recursion limit") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("data_Set"), dict):
        raise InputError(path, QuarantineReason.LABEL_INVALID, "top level is not an object with 'data_Set'")
    ds = obj["data_Set"]
    if "songinfo" not in ds and isinstance(ds.get("songInfo"), dict):
        ds["songinfo"] = ds.pop("songInfo")
    if require:
        missing = [f"data_Set.{k}" for k in _REQUIRED_TOP if k not in ds]
        info = ds.get("songinfo")
        if isinstance(info, dict):
            missing += [f"songinfo.{k}" for k in REQUIRED_SONGINFO if k not in info]
        sf = ds.get("soundFile")
        if isinstance(sf, dict):
            missing += [f"soundFile.{k}" for k in _REQUIRED_SOUNDFILE if k not in sf]
        if missing:
            raise InputError(path, QuarantineReason.LABEL_MISSING_FIELDS, "missing " + ", ".join(missing))
        if not isinstance(info, dict) or not isinstance(sf, dict):
            raise InputError(path, QuarantineReason.LABEL_INVALID, "songinfo and soundFile must be objects")
    return obj


def read_label_file(path: str | os.PathLike, *, require: bool = True) -> dict:
    """:func:`load_label` on a file."""
    with open(path, "rb") as f:
        return load_label(f.read(), path=str(path), require=require)


def validate_label(obj: Mapping[str, Any], *, path: str = "<label>") -> None:
    """Validate a label against the full JSON Schema.

    Raises
    ------
    InputError
        ``LABEL_MISSING_FIELDS`` when a required property is absent, ``LABEL_INVALID`` for any other
        violation; the detail names the JSON path and the rule.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    first = errors[0]
    where = "/".join(str(p) for p in first.absolute_path) or "(top)"
    reason = (QuarantineReason.LABEL_MISSING_FIELDS if any(e.validator == "required" for e in errors)
              else QuarantineReason.LABEL_INVALID)
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    raise InputError(path, reason, f"{where}: {first.message}{more}")


def label_file_paths(obj: Mapping[str, Any], *, path: str) -> tuple[str, str]:
    """The label's ``soundPath`` and ``midiPath`` as POSIX paths relative to the data-set root.

    Raises
    ------
    InputError
        ``LABEL_PATH_ESCAPES_ROOT`` if either is absolute or leaves the root after ``..``;
        ``LABEL_MISSING_FIELDS`` if either is absent.
    """
    sf = obj.get("data_Set", {}).get("soundFile", {}) if isinstance(obj, Mapping) else {}
    out = []
    for key in ("soundPath", "midiPath"):
        value = sf.get(key) if isinstance(sf, Mapping) else None
        if not isinstance(value, str) or not value:
            raise InputError(path, QuarantineReason.LABEL_MISSING_FIELDS, f"soundFile.{key} is missing")
        try:
            out.append(normalize_label_path(value))
        except ParameterError as exc:
            raise InputError(path, QuarantineReason.LABEL_PATH_ESCAPES_ROOT, f"soundFile.{key}: {exc}") from exc
    return out[0], out[1]


def dump_label(obj: Mapping[str, Any]) -> bytes:
    """Serialise a label canonically: UTF-8 (Korean as text), 2-space indent, key order kept."""
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def field_text(value: Any) -> str | None:
    """A label field as text: a string as delivered, any other JSON value as JSON text, None as None.

    Examples
    --------
    >>> field_text("92"), field_text(92), field_text(["a"]), field_text(None)
    ('92', '92', '["a"]', None)
    """
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def field_number(value: Any) -> float | None:
    """A label's number field (delivered as text, ``"92"``, ``" 183.25 "``) as a finite float.

    The one reading of numbers in labels: blank, unparsable, infinite or NaN values, and JSON
    ``true``/``false``, give None rather than an error (a label's numbers are informative).

    Examples
    --------
    >>> field_number(" 92 "), field_number(183.25), field_number(""), field_number("nan"), field_number(True)
    (92.0, 183.25, None, None, None)
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value) if isinstance(value, (int, float)) else float(str(value).strip())
    except (ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def track_roles(obj: Mapping[str, Any]) -> dict[str, str | None]:
    """The MIDI track name the label gives each role (``melodyTrack``, ``rhythmTrack``, ``chordTrack``).

    Returns
    -------
    dict
        ``{"melody": name, "rhythm": name, "chord": name}``; None where the field is absent or
        empty. Ready for :func:`musim_spark.midi.read_midi`'s keyword arguments.

    Examples
    --------
    >>> track_roles({"data_Set": {"songinfo": {"melodyTrack": "Melody", "chordTrack": ""}}})
    {'melody': 'Melody', 'rhythm': None, 'chord': None}
    """
    ds = obj.get("data_Set") if isinstance(obj, Mapping) else None
    info = (ds.get("songinfo") if isinstance(ds, Mapping) else None) or {}
    return {role: field_text(info.get(key)) or None for role, key in ROLE_FIELDS.items()}


def songinfo_numbers(obj: Mapping[str, Any]) -> dict[str, float | None]:
    """Typed numbers from the string fields of ``songinfo``.

    Returns
    -------
    dict
        ``bpm``, ``similarity_coefficient``, ``melody_similarity``, ``rhythm_similarity``,
        ``chord_similarity``: float, or None where empty or unparsable.
    """
    info = obj.get("data_Set", {}).get("songinfo", {}) or {}
    keys = {
        "bpm": "bpm",
        "similarity_coefficient": "similarityCoefficient",
        "melody_similarity": "melodySimilarity",
        "rhythm_similarity": "rhythmSimilarity",
        "chord_similarity": "chordSimilarity",
    }
    return {k: field_number(info.get(v)) for k, v in keys.items()}

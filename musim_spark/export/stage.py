"""``musim export``: read the warehouse (pyarrow, no Spark), build every file in memory or in a
temporary directory, validate, then put the whole export in place with renames.

What ``OUT`` holds afterwards (docs/export.md):

* one label JSON per track of ``tracks``, at the track's ``json_path`` (the data set's relative
  layout), filled from its best match (:mod:`.labels`) and valid against the label JSON Schema;
* ``matches.csv``: every ``matches`` row of the source, sections as JSON text;
* ``sweep.html`` (:mod:`.page`) and ``reports/NNN_<query>__<original>.html``, the pair reports of
  the most suspicious pairs (:mod:`musim_spark.report.page`);
* ``manifest.json``: what was exported from which table versions, and every file's SHA-256.

Atomicity: all labels are filled and validated in memory before any file is written (a label that
fails the schema stops the export naming the file and the field, and nothing is written); the
files are then written into a fresh directory beside ``OUT`` and that directory is renamed to
``OUT``. A previous export at ``OUT`` is first renamed aside and deleted after the new one is in
place, so a reader sees the old export or the new one, never a mix (between the two renames,
microseconds, ``OUT`` is briefly absent). ``OUT`` must be absent, empty or a previous export
(it has ``manifest.json``): the export never replaces a directory it did not write.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping, Sequence

from ..errors import MusimError, ParameterError, WriteError
from ..io.read import read_arrow, table_exists, table_version
from ..io.tables import TABLES, table_uri
from ..labels import dump_label, validate_label
from ..similarity.settings import SimilaritySettings
from ..sweep.results import read_matches
from .labels import fill_label, label_match
from .page import render_sweep, suspicious_pairs
from .settings import ExportSettings

__all__ = ["ExportSummary", "export_warehouse", "build_labels", "matches_csv", "report_file_name", "MANIFEST"]

#: The file that marks a directory as an export (and lists what it holds).
MANIFEST = "manifest.json"
_TRACK_COLUMNS = ("track_id", "kind", "version", "genre", "cover_type", "json_path", "mid_path", "root")


@dataclasses.dataclass(frozen=True)
class ExportSummary:
    """What one export wrote.

    Attributes
    ----------
    out : str
    labels, matches, similar_pairs, reports : int
        Label files, ``matches.csv`` rows, pairs on ``sweep.html``, pair reports written.
    report_errors : tuple of str
        One line per report that could not be written (the page says so too).
    seconds : float
    """

    out: str
    labels: int
    matches: int
    similar_pairs: int
    reports: int
    report_errors: tuple[str, ...]
    seconds: float

    def line(self) -> str:
        return (f"export: {self.labels} labels, {self.matches} matches, {self.similar_pairs} similar pairs, "
                f"{self.reports} reports -> {self.out} ({self.seconds:.1f} s)")


def _relative(path: str | None, *, track_id: str) -> str:
    """``json_path`` as a safe relative POSIX path (never outside ``OUT``)."""
    if not path:
        raise MusimError(f"track {track_id}: no json_path in the tracks table: nothing to export it to")
    p = PurePosixPath(path.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts:
        raise MusimError(f"{path}: json_path of track {track_id} leaves the export directory")
    return p.as_posix()


def build_labels(tracks: Sequence[Mapping[str, Any]], raw_labels: Mapping[str, str],
                 matches: Sequence[Mapping[str, Any]]) -> dict[str, bytes]:
    """Every exported label, filled and validated, in memory: relative path -> file bytes.

    Parameters
    ----------
    tracks : sequence of mapping
        ``tracks`` rows (``track_id``, ``version``, ``json_path``).
    raw_labels : mapping
        Track id -> ``labels.raw_json``.
    matches : sequence of mapping
        ``matches`` rows of one source.

    Raises
    ------
    InputError
        A label that fails the schema: ``<json_path>: LABEL_INVALID: <field>: <rule>``.
    MusimError
        A track without a label row or a ``json_path``.
    """
    by_query: dict[str, list] = {}
    for r in matches:
        by_query.setdefault(r["query_track_id"], []).append(r)
    out: dict[str, bytes] = {}
    for t in sorted(tracks, key=lambda t: t["track_id"]):
        tid = t["track_id"]
        rel = _relative(t.get("json_path"), track_id=tid)
        if tid not in raw_labels:
            raise MusimError(f"{rel}: track {tid} has no row in the labels table: run `musim ingest` again")
        match = label_match(by_query.get(tid, []), is_original=t.get("version") == "Org")
        label = fill_label(raw_labels[tid], match, path=rel)
        validate_label(label, path=rel)  # raises naming the file and the field
        out[rel] = dump_label(label)
    return out


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def matches_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """``matches.csv``: the table's columns in order, sections as compact JSON, booleans
    ``true``/``false``, nulls empty.

    Examples
    --------
    >>> row = {name: None for name in TABLES["matches"].schema.names}
    >>> row.update(query_track_id="q", is_similar=True, melody_sections=[{"query_start_ms": 0}])
    >>> matches_csv([row]).splitlines()[1]
    'q,,,,,,,true,,,"[{""query_start_ms"":0}]",,,'
    """
    names = TABLES["matches"].schema.names
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    for r in rows:
        w.writerow([_csv_cell(r.get(n)) for n in names])
    return buf.getvalue()


def report_file_name(index: int, query: str, original: str) -> str:
    """``reports/``'s file name of a pair.

    Examples
    --------
    >>> report_file_name(1, "Similar_Trot_00268_Cover_Rhythm_A", "Similar_Trot_00268_Org")
    '001_Similar_Trot_00268_Cover_Rhythm_A__Similar_Trot_00268_Org.html'
    """
    def safe(s):
        return re.sub(r"[^A-Za-z0-9._-]+", "_", s)[:80]

    return f"{index:03d}_{safe(query)}__{safe(original)}.html"


def _write_report(path: Path, q: Mapping[str, Any], o: Mapping[str, Any], settings: SimilaritySettings) -> None:
    """One pair report from the two tracks' MIDI files (tracks.root + mid_path)."""
    from ..report.page import write_report
    from ..similarity.command import result_json
    from ..similarity.compare import compare_files

    files = []
    for t in (q, o):
        if not t.get("root") or not t.get("mid_path"):
            raise MusimError(f"track {t['track_id']}: no MIDI path in the tracks table")
        f = Path(t["root"]) / t["mid_path"]
        if not f.is_file():
            raise MusimError(f"{f}: MIDI file not found (data-set root moved?)")
        files.append(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reader warnings were quarantine matters at ingest
        result, fa, fb = compare_files(files[0], files[1], settings=settings)
        write_report(path, result, fa, fb, name_a=q["track_id"], name_b=o["track_id"], settings=settings,
                     source_a=files[0], source_b=files[1], interface=result_json(result))


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise ParameterError(f"{out}: not empty and not a previous export (no {MANIFEST}): choose another --out")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _put_in_place(tmp: Path, out: Path) -> None:
    """Rename the finished ``tmp`` to ``out``; a previous export is renamed aside, then deleted."""
    old = None
    if out.is_dir():
        if any(out.iterdir()):
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(out, old)
        else:
            out.rmdir()
    try:
        os.rename(tmp, out)
    except OSError as exc:
        if old is not None:
            os.rename(old, out)  # put the previous export back
        raise WriteError(f"{out}: cannot put the export in place: {exc}") from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _read_tracks(warehouse) -> tuple[list[dict], dict[str, str]]:
    uri = table_uri(warehouse, "tracks")
    if not table_exists(uri):
        raise MusimError(f"{uri}: no tracks table: run `musim ingest` first")
    tracks = read_arrow(uri, columns=list(_TRACK_COLUMNS)).to_pylist()
    luri = table_uri(warehouse, "labels")
    if not table_exists(luri):
        raise MusimError(f"{luri}: no labels table: run `musim ingest` first")
    raw = {r["track_id"]: r["raw_json"] for r in read_arrow(luri, columns=["track_id", "raw_json"]).to_pylist()}
    return tracks, raw


def export_warehouse(warehouse, out, *, source: str = "midi", settings: ExportSettings | None = None,
                     similarity: SimilaritySettings | None = None,
                     warn: Callable[[str], None] | None = None) -> ExportSummary:
    """Export the warehouse's results to ``out`` (see the module docstring).

    Parameters
    ----------
    warehouse : path-like
    out : path-like
        The export directory: absent, empty or a previous export.
    source : {"midi", "audio"}
        Whose ``matches`` rows.
    settings : ExportSettings, optional
    similarity : SimilaritySettings, optional
        The engine settings the pair reports are computed with (the sweep's).
    warn : callable, optional
        Called with one line per report that could not be written (default: stderr).

    Raises
    ------
    MusimError
        No ``matches`` (run ``musim similarity`` first), no ``tracks``/``labels``, a track without
        label; :class:`~musim_spark.errors.InputError` for a label failing the schema;
        :class:`~musim_spark.errors.ParameterError` for an ``out`` that is not an export.
    """
    started = time.monotonic()
    settings = settings or ExportSettings()
    similarity = similarity or SimilaritySettings()
    warn = warn or (lambda line: print(f"musim export: warning: {line}", file=sys.stderr))
    out = Path(out).absolute()
    _check_out(out)
    rows = read_matches(warehouse, source)
    tracks, raw = _read_tracks(warehouse)
    labels = build_labels(tracks, raw, rows)  # validated: nothing is written when one fails
    by_id = {t["track_id"]: t for t in tracks}
    pairs = [dict(p) for p in suspicious_pairs(rows)]

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        files: dict[str, str] = {}

        def put(rel: str, data: bytes) -> None:
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            files[rel] = _sha256(data)

        for rel, data in labels.items():
            put(rel, data)
        put("matches.csv", matches_csv(rows).encode("utf-8"))
        errors = []
        written = 0
        (tmp / "reports").mkdir()
        for i, p in enumerate(pairs, 1):
            if i > settings.report_pairs:
                p["report_error"] = f"no report (beyond the first {settings.report_pairs})"
                continue
            name = report_file_name(i, p["query_track_id"], p["original_track_id"])
            try:
                q, o = by_id.get(p["query_track_id"]), by_id.get(p["original_track_id"])
                if q is None or o is None:
                    raise MusimError("a track of the pair is not in the tracks table")
                _write_report(tmp / "reports" / name, q, o, similarity)
            except MusimError as exc:
                line = f"report of {p['query_track_id']} vs {p['original_track_id']}: {exc}"
                errors.append(line)
                warn(line)
                p["report_error"] = f"no report: {exc}"
                continue
            files[f"reports/{name}"] = _sha256((tmp / "reports" / name).read_bytes())
            p["report"] = f"reports/{name}"
            written += 1
        page = render_sweep(rows, by_id, pairs=pairs, source=source,
                            coefficient_threshold=similarity.coefficient_threshold, bins=settings.plot_bins,
                            report_pairs=settings.report_pairs)
        put("sweep.html", page.encode("utf-8"))
        manifest = {
            "source": source,
            "warehouse": os.fspath(warehouse),
            "table_versions": {t: table_version(table_uri(warehouse, t)) for t in ("tracks", "labels", "matches")},
            "labels": len(labels), "matches": len(rows), "similar_pairs": len(pairs), "reports": written,
            "files": dict(sorted(files.items())),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        _put_in_place(tmp, out)
    except OSError as exc:  # disk full, permissions: one line, and no half-written export
        shutil.rmtree(tmp, ignore_errors=True)
        raise WriteError(f"{out}: cannot write the export: {exc}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportSummary(str(out), len(labels), len(rows), len(pairs), written, tuple(errors),
                         time.monotonic() - started)

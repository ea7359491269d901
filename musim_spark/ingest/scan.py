"""Driver side of ingest: list a data-set root and group its files into tracks.

Only ``os.stat`` facts are gathered (size, modification time): no file is opened, except the
rare ``.json`` whose name is not a track id (a possible duplicate label), whose ``soundPath`` must
be read to know which track it claims. Every file under the root ends in exactly one place: a
track's member, or a :class:`Rejection` (``STRAY_FILE``, ``NAME_FOLDER_MISMATCH``,
``LABEL_DUPLICATE``, a duplicate member). Tracks missing a required member get one rejection per
missing file (its expected path) and ``TRACK_REJECTED`` for each file they do have.

Folders whose name starts with ``_`` or ``.`` are tooling output (``_truth/``, ``_zip/``) and are
not part of the data set (:func:`musim_spark.layout.is_tooling_folder`).

Hostile names. A path that is not valid UTF-8 (bytes such as ``b'\\xff'`` that Python keeps as
surrogates) cannot be stored in a table: it is quarantined as ``NAME_NOT_UTF8`` under its escaped
form (``\\xff\\xfe.mid``, :func:`escape_name`) and never opened.

Duplicates. One track id can occur in two folders: its own (``Cover_Rhythm_A/``) and a range-less
one (``Cover_Rhythm/``, which the layout also accepts). One copy is kept, by these rules in order:

1. a complete copy (every required member) wins over an incomplete one;
2. among complete copies, one that parses (``parses``, the stage passes
   :func:`.parse.track_parses`: only tracks found twice are parsed here) wins over one that does not;
3. then the copy in the track's own folder (:func:`musim_spark.layout.track_dir`) wins;
4. then the first folder by path.

Every file of the other copies is quarantined as ``DUPLICATE``, the detail naming the kept folder.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from typing import Callable, Mapping

from ..errors import InputError, ParameterError, QuarantineReason
from ..layout import EXTENSIONS, TrackId, is_tooling_folder, parse_relative_path, parse_track_id, track_dir

__all__ = [
    "MEMBERS",
    "MISSING_REASON",
    "FileStat",
    "Rejection",
    "TrackFiles",
    "Listing",
    "scan_root",
    "list_files",
    "escape_name",
]

#: A track's members, in the order rows list them.
MEMBERS = ("wav", "mid", "xml", "json")
MISSING_REASON = {
    "wav": QuarantineReason.WAV_MISSING,
    "mid": QuarantineReason.MIDI_MISSING,
    "xml": QuarantineReason.XML_MISSING,
    "json": QuarantineReason.LABEL_MISSING,
}


@dataclasses.dataclass(frozen=True)
class FileStat:
    """One file under the root.

    Attributes
    ----------
    path : str
        Relative to the root, POSIX separators.
    size : int
        Bytes.
    mtime_us : int
        Modification time, microseconds since the epoch (UTC).
    """

    path: str
    size: int
    mtime_us: int


@dataclasses.dataclass(frozen=True)
class Rejection:
    """An input refused before or during parsing: one future ``quarantine`` row.

    Attributes
    ----------
    path : str
        Relative to the root (for a missing member: the path it should have had).
    reason : QuarantineReason
    detail : str
    track_id : str or None
        The track it belongs to (or claims to), where known.
    size, mtime_us : int or None
        The file's stat facts; None for a file that is missing.
    """

    path: str
    reason: QuarantineReason
    detail: str
    track_id: str | None = None
    size: int | None = None
    mtime_us: int | None = None


@dataclasses.dataclass(frozen=True)
class TrackFiles:
    """The files of one track found under the root.

    Attributes
    ----------
    tid : TrackId
    members : Mapping[str, FileStat]
        By member kind (``wav``, ``mid``, ``xml``, ``json``).
    missing : tuple of (str, str)
        ``(member kind, expected path)`` of each required member that is absent.
    """

    tid: TrackId
    members: Mapping[str, FileStat]
    missing: tuple[tuple[str, str], ...] = ()

    @property
    def track_id(self) -> str:
        return self.tid.track_id

    @property
    def complete(self) -> bool:
        return not self.missing

    def state(self) -> dict[str, tuple[int | None, int | None]]:
        """``{path: (size, mtime_us)}`` of present members, ``(None, None)`` for missing ones.

        Two runs that see the same state for a track have nothing new to learn about it.
        """
        out: dict[str, tuple[int | None, int | None]] = {
            f.path: (f.size, f.mtime_us) for f in self.members.values()
        }
        for _, path in self.missing:
            out[path] = (None, None)
        return out

    def missing_rejections(self) -> list[Rejection]:
        """Rows for an incomplete track: each missing member, then ``TRACK_REJECTED`` siblings."""
        rows = [
            Rejection(path, MISSING_REASON[kind], f"track {self.track_id} has no {_describe(kind)} file",
                      self.track_id)
            for kind, path in self.missing
        ]
        first = rows[0]
        for f in self.members.values():
            rows.append(Rejection(
                f.path, QuarantineReason.TRACK_REJECTED,
                f"track rejected: {first.path} ({first.reason.value})", self.track_id, f.size, f.mtime_us,
            ))
        return rows


def _describe(kind: str) -> str:
    return {"wav": ".wav", "mid": ".mid", "xml": ".xml/.musicxml", "json": ".json label"}[kind]


@dataclasses.dataclass(frozen=True)
class Listing:
    """Everything :func:`scan_root` found.

    Attributes
    ----------
    root : str
        Absolute path of the data-set root.
    tracks : Mapping[str, TrackFiles]
        By track id, complete or not.
    rejections : tuple of Rejection
        Files that belong to no track (stray, misnamed, duplicate labels, second copies).
    n_files : int
        Files under the root (outside tooling folders).
    n_bytes : int
    """

    root: str
    tracks: Mapping[str, TrackFiles]
    rejections: tuple[Rejection, ...]
    n_files: int
    n_bytes: int

    def all_paths(self) -> set[str]:
        """Every file under the root (relative), for reconciliation."""
        out = {f.path for t in self.tracks.values() for f in t.members.values()}
        out.update(r.path for r in self.rejections if r.size is not None)
        return out


def list_files(root: str | os.PathLike) -> list[FileStat]:
    """Every regular file under ``root``, skipping folders named ``_*`` or ``.*``, sorted by path.

    Symbolic links are listed as files only when they resolve inside the root; any other link
    is listed with size -1 so that the caller can refuse it.
    """
    base = os.path.abspath(os.fspath(root))
    real_base = os.path.realpath(base)
    out: list[FileStat] = []
    stack = [base]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    if not is_tooling_folder(entry.name):
                        stack.append(entry.path)
                    continue
                rel = os.path.relpath(entry.path, base).replace(os.sep, "/")
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    inside = target.startswith(real_base + os.sep) and os.path.isfile(target)
                    if not inside:
                        out.append(FileStat(rel, -1, 0))
                        continue
                st = entry.stat()
                out.append(FileStat(rel, int(st.st_size), int(st.st_mtime_ns // 1000)))
    out.sort(key=lambda f: f.path)
    return out


def escape_name(path: str) -> str:
    """A path as text that can be stored: undecodable bytes (surrogates) as ``\\xNN`` escapes.

    Examples
    --------
    >>> escape_name(os.fsdecode(b"Similar/\\xff\\xfe.mid"))
    'Similar/\\\\xff\\\\xfe.mid'
    >>> escape_name("Similar/노래.mid")
    'Similar/노래.mid'
    """
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def scan_root(root: str | os.PathLike, *, require_audio: bool = True,
              parses: Callable[[TrackFiles], bool] | None = None) -> Listing:
    """List ``root`` and decide, for each file, its track or its rejection.

    Parameters
    ----------
    root : path-like
        A data-set root (``Similar/``, ``Regular/`` below it).
    require_audio : bool
        A track without ``.wav`` is incomplete (``WAV_MISSING``). False accepts MIDI-only sets
        (``sample-data --no-audio``).
    parses : callable or None
        ``parses(track) -> bool`` for a complete track found in two or more folders: whether that
        copy parses (rule 2 of the module's duplicate rules). None skips rule 2.

    Returns
    -------
    Listing
    """
    base = os.path.abspath(os.fspath(root))
    files = list_files(base)
    copies: dict[str, dict[str, dict[str, FileStat]]] = {}
    tids: dict[str, TrackId] = {}
    rejections: list[Rejection] = []
    label_candidates: list[FileStat] = []
    for f in files:
        if not _is_utf8(f.path):
            rejections.append(Rejection(escape_name(f.path), QuarantineReason.NAME_NOT_UTF8,
                                        "file or folder name is not UTF-8 (stored with \\x escapes)", None,
                                        max(f.size, 0), f.mtime_us))
            continue
        if f.size < 0:
            rejections.append(Rejection(f.path, QuarantineReason.STRAY_FILE,
                                        "symbolic link that leaves the data-set root", None, 0, 0))
            continue
        try:
            tid, ext = parse_relative_path(f.path)
        except ParameterError as exc:
            rej = _classify_loose(f, str(exc))
            if rej is None:
                label_candidates.append(f)
            else:
                rejections.append(rej)
            continue
        members = copies.setdefault(tid.track_id, {}).setdefault(posixpath.dirname(f.path), {})
        if ext in members:
            rejections.append(Rejection(
                f.path, QuarantineReason.STRAY_FILE,
                f"second .{ext} file for track {tid.track_id} (kept {members[ext].path})",
                tid.track_id, f.size, f.mtime_us,
            ))
            continue
        members[ext] = f
        tids.setdefault(tid.track_id, tid)
    required = MEMBERS if require_audio else MEMBERS[1:]
    tracks: dict[str, TrackFiles] = {}
    for track_id in sorted(copies):
        candidates = {
            folder: TrackFiles(tids[track_id], dict(members), tuple(
                (kind, posixpath.join(folder, f"{track_id}.{kind}")) for kind in required if kind not in members))
            for folder, members in copies[track_id].items()
        }
        kept = _keep_one(candidates, parses)
        tracks[track_id] = candidates[kept]
        for folder, other in sorted(candidates.items()):
            if folder != kept:
                rejections.extend(
                    Rejection(f.path, QuarantineReason.DUPLICATE,
                              f"second copy of track {track_id} (in {folder}/); kept the copy in {kept}/",
                              track_id, f.size, f.mtime_us)
                    for f in other.members.values())
    groups = {tid: t.members for tid, t in tracks.items()}
    for f in label_candidates:
        rejections.append(_classify_label_copy(base, f, groups))
    return Listing(
        root=base, tracks=tracks, rejections=tuple(sorted(rejections, key=lambda r: r.path)),
        n_files=len(files), n_bytes=sum(max(f.size, 0) for f in files),
    )


def _keep_one(candidates: Mapping[str, TrackFiles], parses: Callable[[TrackFiles], bool] | None) -> str:
    """The folder of the copy to keep (the module's duplicate rules 1-4)."""
    if len(candidates) == 1:
        return next(iter(candidates))
    complete = [folder for folder, t in candidates.items() if t.complete]
    parsing = set()
    if parses is not None and len(complete) > 1:
        for folder in complete:
            try:
                if parses(candidates[folder]):
                    parsing.add(folder)
            except Exception:  # noqa: BLE001 - a copy the parser crashes on does not parse
                continue
    own = track_dir(next(iter(candidates.values())).tid)
    return min(candidates, key=lambda folder: (
        not candidates[folder].complete, folder not in parsing if parsing else False, folder != own, folder))


def _classify_loose(f: FileStat, why: str) -> Rejection | None:
    """A file outside the track layout: mismatch, stray, or (None) a possible duplicate label."""
    parts = f.path.split("/")
    stem, dot, ext = parts[-1].rpartition(".")
    if len(parts) == 5 and dot and ext.lower() in EXTENSIONS:
        try:
            claimed = parse_track_id(stem)
        except ParameterError:
            claimed = None
        if claimed is not None:
            return Rejection(f.path, QuarantineReason.NAME_FOLDER_MISMATCH, why, claimed.track_id,
                             f.size, f.mtime_us)
        if EXTENSIONS[ext.lower()] == "json":
            return None
    return Rejection(f.path, QuarantineReason.STRAY_FILE, f"not a file of any track: {why}", None,
                     f.size, f.mtime_us)


def _classify_label_copy(base: str, f: FileStat, groups: Mapping[str, Mapping[str, FileStat]]) -> Rejection:
    """A ``.json`` in a track folder whose name is no track id: a second label, or a stray file."""
    from ..labels import label_file_paths, load_label

    try:
        with open(os.path.join(base, *f.path.split("/")), "rb") as fh:
            obj = load_label(fh.read(), path=f.path, require=False)
        sound_rel, _ = label_file_paths(obj, path=f.path)
        claimed, _ = parse_relative_path(sound_rel)
    except (InputError, ParameterError, OSError) as exc:
        return Rejection(f.path, QuarantineReason.STRAY_FILE,
                         f"a .json that is no track's label and claims no track ({exc})", None, f.size, f.mtime_us)
    own = groups.get(claimed.track_id, {}).get("json")
    if own is None:
        return Rejection(f.path, QuarantineReason.STRAY_FILE,
                         f"a .json named like no track; its soundPath claims {claimed.track_id}, which has no label "
                         f"of its own under that name", claimed.track_id, f.size, f.mtime_us)
    return Rejection(f.path, QuarantineReason.LABEL_DUPLICATE,
                     f"second label for {claimed.track_id} (soundPath {sound_rel}); kept {own.path}",
                     claimed.track_id, f.size, f.mtime_us)

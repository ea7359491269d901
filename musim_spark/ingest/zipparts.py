"""Split zip deliveries (``NAME.zip.part0``, ``.part1``, ...) read without merging them by hand.

The parts are plain byte slices of one zip file, so :class:`ConcatenatedParts` presents them as one
seekable stream and :mod:`zipfile` reads the central directory from it directly: nothing is
concatenated or copied first. :func:`land_archive` then streams the entries into a landing
directory (``<warehouse>/_landing/<NAME>/``) that ingest treats as an ordinary data-set root.

Why land instead of reading entries in place from the Spark tasks: every later stage
(transcription, separation) needs random access to the same WAV files, and a deflated entry
cannot be seeked into; extracting once, sequentially, costs about one more write of the bytes and
leaves a root every stage can read. Extraction is incremental: a rerun over unchanged parts
(same names, sizes and modification times) does nothing, and a changed archive rewrites only
the entries whose size or CRC-32 changed (untouched files keep their modification time, so the
ingest after it re-reads only what changed).

Safety: an entry with an absolute path, a drive letter, a ``..`` component or a symbolic-link
mode is refused (``ZIP_ENTRY_UNSAFE``); an entry larger than ``max_entry_bytes`` or compressed
more than ``max_ratio`` times is refused (``ZIP_TOO_LARGE``), and bytes are counted while
streaming so a header that under-declares its size cannot write more than it declared. An
archive declaring more than ``max_total_bytes`` in all is refused as a whole.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shutil
import stat
import zipfile
from typing import Sequence

from ..errors import InputError, ParameterError, QuarantineReason

__all__ = [
    "ZipBounds",
    "ConcatenatedParts",
    "LandingResult",
    "find_zip_parts",
    "safe_entry_name",
    "safe_archive_name",
    "land_archive",
]

_PART_RE = re.compile(r"^(?P<name>.+)\.zip\.part(?P<index>\d+)$")
_COPY_CHUNK = 1 << 20  # bytes per read while streaming an entry out


@dataclasses.dataclass(frozen=True)
class ZipBounds:
    """Limits on what an archive may decompress to (``ingest.zip`` in conf).

    Attributes
    ----------
    max_total_bytes : int
        The whole archive's declared uncompressed size.
    max_entry_bytes : int
        One entry's uncompressed size.
    max_ratio : float
        Uncompressed / compressed size of one entry (zip bombs reach 1000+; audio and MIDI
        rarely exceed 10).
    """

    max_total_bytes: int = 2 * 1024**4
    max_entry_bytes: int = 4 * 1024**3
    max_ratio: float = 200.0


class ConcatenatedParts(io.RawIOBase):
    """Read-only, seekable view of several files as one byte stream.

    Parameters
    ----------
    paths : sequence of path-like
        The parts, in order.
    """

    def __init__(self, paths: Sequence[str | os.PathLike]):
        super().__init__()
        self._paths = [os.fspath(p) for p in paths]
        self._sizes = [os.stat(p).st_size for p in self._paths]
        self._starts = []
        total = 0
        for s in self._sizes:
            self._starts.append(total)
            total += s
        self._size = total
        self._pos = 0
        self._open_index = -1
        self._open_file = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        new = base + offset
        if new < 0:
            raise ValueError(f"negative seek position {new}")
        self._pos = new
        return new

    def _part_at(self, pos: int) -> int:
        for i in range(len(self._starts) - 1, -1, -1):
            if pos >= self._starts[i]:
                return i
        return 0

    def readinto(self, buffer) -> int:
        # Fill the whole buffer across part boundaries: zipfile treats a short read as truncation.
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._size:
            i = self._part_at(self._pos)
            if i != self._open_index:
                if self._open_file is not None:
                    self._open_file.close()
                self._open_file = open(self._paths[i], "rb")
                self._open_index = i
            local = self._pos - self._starts[i]
            want = min(len(view) - done, self._sizes[i] - local)
            self._open_file.seek(local)
            n = self._open_file.readinto(view[done:done + want])
            if not n:
                raise OSError(f"{self._paths[i]} is shorter than when it was listed")
            self._pos += n
            done += n
        return done

    def close(self) -> None:
        if self._open_file is not None:
            self._open_file.close()
            self._open_file = None
        super().close()


def find_zip_parts(directory: str | os.PathLike) -> dict[str, list[str]]:
    """The split archives in ``directory``: ``{NAME: [part0, part1, ...]}`` in numeric part order.

    Raises
    ------
    ParameterError
        If an archive's part numbers have a gap (a part is missing).
    """
    found: dict[str, dict[int, str]] = {}
    for entry in sorted(os.listdir(directory)):
        m = _PART_RE.match(entry)
        if m and os.path.isfile(os.path.join(directory, entry)):
            found.setdefault(m.group("name"), {})[int(m.group("index"))] = os.path.join(directory, entry)
    out = {}
    for name, parts in found.items():
        indices = sorted(parts)
        if indices != list(range(len(indices))):
            missing = sorted(set(range(indices[-1] + 1)) - set(indices))
            raise ParameterError(f"{directory}: {name}.zip parts {missing} are missing (have {indices})")
        out[name] = [parts[i] for i in indices]
    return out


def safe_archive_name(name: str, *, where: str = "") -> str:
    """An archive's name (``NAME`` of ``NAME.zip.part<N>``) checked as one plain folder name.

    The landing folder is ``<landing area>/<NAME>``, so a name that is a path (``..``, ``.``, a
    separator, NUL) would put the extracted files elsewhere: ``...zip.part0`` names the archive
    ``..`` and once unpacked into the warehouse itself, over the tables' logs.

    Raises
    ------
    ParameterError
        Naming ``where`` (the part file) and the name.

    Examples
    --------
    >>> safe_archive_name("delivery_2026")
    'delivery_2026'
    >>> safe_archive_name("..", where="...zip.part0")
    Traceback (most recent call last):
        ...
    musim_spark.errors.ParameterError: ...zip.part0: archive name '..' is not a plain folder name (no '.', '..', separators or NUL)
    """
    if name in ("", ".", "..") or any(c in name for c in ("/", "\\", "\x00")) or name != name.strip():
        raise ParameterError(f"{where or name}: archive name {name!r} is not a plain folder name "
                             f"(no '.', '..', separators or NUL)")
    return name


def safe_entry_name(name: str) -> str:
    """An archive entry's name as a safe relative POSIX path.

    Raises
    ------
    InputError
        ``ZIP_ENTRY_UNSAFE`` for absolute paths, drive letters, ``..`` components or empty names.

    Examples
    --------
    >>> safe_entry_name("Similar\\\\Rock\\\\a.wav")
    'Similar/Rock/a.wav'
    """
    p = name.replace("\\", "/")
    if p.startswith("/") or re.match(r"^[A-Za-z]:", p):
        raise InputError(name, QuarantineReason.ZIP_ENTRY_UNSAFE, "absolute path in archive")
    parts = [c for c in p.split("/") if c not in ("", ".")]
    if any(c == ".." for c in parts):
        raise InputError(name, QuarantineReason.ZIP_ENTRY_UNSAFE, "'..' in archive path escapes the root")
    if not parts or "\x00" in p:
        raise InputError(name, QuarantineReason.ZIP_ENTRY_UNSAFE, "empty or NUL-bearing archive path")
    return "/".join(parts)


@dataclasses.dataclass(frozen=True)
class LandingResult:
    """What :func:`land_archive` did.

    Attributes
    ----------
    root : str
        The landing directory (a data-set root).
    skipped : bool
        The parts were unchanged since the last landing: nothing was read.
    extracted, kept, deleted : int
        Entries written, entries left as they were (same size and CRC), landed files removed.
    rejected : tuple of InputError
        Entries refused (their ``path`` is ``<NAME>.zip:<entry>``).
    bytes_written : int
    """

    root: str
    skipped: bool
    extracted: int = 0
    kept: int = 0
    deleted: int = 0
    rejected: tuple = ()
    bytes_written: int = 0


def _parts_signature(parts: Sequence[str]) -> list:
    return [[os.path.basename(p), os.stat(p).st_size, os.stat(p).st_mtime_ns] for p in parts]


def land_archive(parts: Sequence[str], landing_root: str | os.PathLike, *, name: str,
                 bounds: ZipBounds = ZipBounds()) -> LandingResult:
    """Stream a split archive's entries into ``landing_root``, incrementally and safely.

    Parameters
    ----------
    parts : sequence of str
        The part files in order (:func:`find_zip_parts`).
    landing_root : path-like
        Directory to extract into (created). A manifest ``<landing_root>.manifest.json`` beside it
        records the parts' sizes and times and each landed entry's size and CRC.
    name : str
        The archive's name, for quarantine paths (``<name>.zip:<entry>``).
    bounds : ZipBounds

    Returns
    -------
    LandingResult

    Raises
    ------
    InputError
        ``ZIP_CORRUPT`` if the parts do not form a readable zip; ``ZIP_TOO_LARGE`` if the archive
        declares more than ``bounds.max_total_bytes`` (nothing is extracted then).
    """
    root = os.path.abspath(os.fspath(landing_root))
    manifest_path = root.rstrip("/") + ".manifest.json"
    signature = _parts_signature(parts)
    previous = {}
    if os.path.exists(manifest_path):
        with open(manifest_path, encoding="utf-8") as f:
            previous = json.load(f)
    if previous.get("parts") == signature and os.path.isdir(root):
        return LandingResult(root=root, skipped=True, kept=len(previous.get("entries", {})))
    archive_label = f"{name}.zip"
    # A first landing that fails part-way leaves nothing behind (no half-extracted root to list
    # later); a re-landing keeps its files, which the manifest of the last good landing describes.
    fresh = not os.path.exists(root) and not os.path.exists(manifest_path)
    stream = ConcatenatedParts(parts)
    try:
        try:
            zf = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise InputError(archive_label, QuarantineReason.ZIP_CORRUPT,
                             f"{len(parts)} part(s) do not form a readable zip: {exc}") from exc
        with zf:
            return _extract(zf, root, manifest_path, signature, previous, archive_label, bounds)
    except BaseException:
        if fresh:
            shutil.rmtree(root, ignore_errors=True)
        raise
    finally:
        stream.close()


def _extract(zf: zipfile.ZipFile, root: str, manifest_path: str, signature: list, previous: dict,
             archive_label: str, bounds: ZipBounds) -> LandingResult:
    infos = zf.infolist()
    total = sum(i.file_size for i in infos if not i.is_dir())
    if total > bounds.max_total_bytes:
        raise InputError(archive_label, QuarantineReason.ZIP_TOO_LARGE,
                         f"declares {total} bytes uncompressed, over the bound of {bounds.max_total_bytes}")
    old_entries: dict = previous.get("entries", {})
    new_entries: dict[str, list] = {}
    rejected = []
    extracted = kept = written = 0
    blocking = _file_prefixes(infos)
    os.makedirs(root, exist_ok=True)
    for info in infos:
        if info.is_dir():
            continue
        where = f"{archive_label}:{info.filename}"
        try:
            rel = safe_entry_name(info.filename)
            if rel in blocking:
                raise InputError(info.filename, QuarantineReason.ZIP_ENTRY_UNSAFE,
                                 f"its folder {blocking[rel]} is also a file entry of the archive")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise InputError(info.filename, QuarantineReason.ZIP_ENTRY_UNSAFE, "symbolic link entry")
            if rel in new_entries:
                raise InputError(info.filename, QuarantineReason.ZIP_ENTRY_UNSAFE, f"second entry for {rel}")
            if info.file_size > bounds.max_entry_bytes:
                raise InputError(info.filename, QuarantineReason.ZIP_TOO_LARGE,
                                 f"{info.file_size} bytes uncompressed, over the bound of {bounds.max_entry_bytes}")
            if info.compress_size and info.file_size / info.compress_size > bounds.max_ratio:
                raise InputError(info.filename, QuarantineReason.ZIP_TOO_LARGE,
                                 f"compression ratio {info.file_size / info.compress_size:.0f} over the bound "
                                 f"of {bounds.max_ratio:g}")
        except InputError as exc:
            rejected.append(InputError(where, exc.reason, exc.detail))
            continue
        target = os.path.join(root, *rel.split("/"))
        record = [info.file_size, info.CRC]
        if old_entries.get(rel) == record and os.path.isfile(target) and os.stat(target).st_size == info.file_size:
            new_entries[rel] = record
            kept += 1
            continue
        try:
            written += _stream_entry(zf, info, target)
        except InputError as exc:
            rejected.append(InputError(where, exc.reason, exc.detail))
            continue
        new_entries[rel] = record
        extracted += 1
    deleted = 0
    for rel in set(old_entries) - set(new_entries):
        target = os.path.join(root, *rel.split("/"))
        if os.path.isfile(target):
            os.remove(target)
            deleted += 1
    tmp = manifest_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"parts": signature, "entries": new_entries}, f)
    os.replace(tmp, manifest_path)
    return LandingResult(root=root, skipped=False, extracted=extracted, kept=kept, deleted=deleted,
                         rejected=tuple(rejected), bytes_written=written)


def _file_prefixes(infos: Sequence[zipfile.ZipInfo]) -> dict[str, str]:
    """``{entry path: file entry it runs through}`` for entries below a path that is also a file entry.

    ``X.mid`` and ``X.mid/inner.txt`` cannot both land (one path cannot be a file and a folder):
    the file keeps its place (it may be a track's member) and the entries below it are refused,
    whatever their order in the archive.
    """
    files = set()
    for info in infos:
        if not info.is_dir():
            try:
                files.add(safe_entry_name(info.filename))
            except InputError:
                continue
    out = {}
    for rel in files:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in files:
                out[rel] = folder
                break
    return out


def _stream_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: str) -> int:
    """Copy one entry to ``target`` through a temporary file; never more than it declared."""
    tmp = target + ".landing-tmp"
    count = 0
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with zf.open(info) as src, open(tmp, "wb") as dst:
            while True:
                chunk = src.read(_COPY_CHUNK)
                if not chunk:
                    break
                count += len(chunk)
                if count > info.file_size:
                    raise InputError(info.filename, QuarantineReason.ZIP_TOO_LARGE,
                                     f"decompresses past its declared {info.file_size} bytes")
                dst.write(chunk)
        os.replace(tmp, target)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        _remove_quietly(tmp)
        raise InputError(info.filename, QuarantineReason.ZIP_CORRUPT, f"cannot be extracted: {exc}") from exc
    except InputError:
        _remove_quietly(tmp)
        raise
    return count


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


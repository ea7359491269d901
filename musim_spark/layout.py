"""The data set's file layout: track ids, folder paths and the names inside labels.

``<kind>/<genre>/<songNo>/<version>/<kind>_<genre>_<songNo>_<version>.<ext>`` (shared/spec/dataset.md).
Pure functions, no I/O: the generator builds paths with them and ingest parses paths with them,
so the two can never disagree.

Examples
--------
>>> tid = parse_track_id("Similar_Trot_00268_Cover_Rhythm_A")
>>> tid.kind, tid.genre, tid.song_no, tid.version, tid.cover_type, tid.cover_range
('Similar', 'Trot', '00268', 'Cover_Rhythm_A', 'Rhythm_A', 'A')
>>> track_dir(tid)
'Similar/Trot/00268/Cover_Rhythm_A'
>>> windows_path(tid, "wav")
'Similar\\\\Trot\\\\00268\\\\Cover_Rhythm_A\\\\Similar_Trot_00268_Cover_Rhythm_A.wav'
"""

from __future__ import annotations

import dataclasses
import posixpath
import re

from .errors import ParameterError

__all__ = [
    "KINDS",
    "GENRES",
    "COVER_TYPES",
    "DATASET_COVER_TYPES",
    "CATEGORY_BY_VERSION",
    "EXTENSIONS",
    "TrackId",
    "parse_track_id",
    "make_track_id",
    "track_dir",
    "track_path",
    "windows_path",
    "parse_relative_path",
    "normalize_label_path",
    "is_tooling_folder",
]

KINDS = ("Similar", "Regular")
GENRES = ("Ballade", "Dance", "Hiphop", "RnB", "Rock", "Trot")
#: All 20 cover types of the spec's table, in its order.
COVER_TYPES = (
    "Arrangement_A", "Arrangement_B", "Arrangement_C",
    "Timbre_A", "Timbre_B", "Timbre_C", "Timbre_D",
    "Instrument_A", "Instrument_B", "Instrument_C", "Instrument_D",
    "Rhythm_A", "Rhythm_B", "Rhythm_C", "Rhythm_D",
    "Tempo_A", "Tempo_B", "Tempo_C", "Tempo_D",
    "Genre_A",
)
#: The 9 cover types the delivered data set has per Similar original.
DATASET_COVER_TYPES = (
    "Arrangement_A", "Genre_A", "Instrument_A", "Instrument_C", "Rhythm_A",
    "Tempo_A", "Tempo_C", "Timbre_A", "Timbre_C",
)
#: Korean ``category`` label by (kind, cover family).
CATEGORY_BY_VERSION = {
    ("Similar", "Org"): "원곡",
    ("Regular", "Org"): "추가원곡",
    "Arrangement": "악기편곡",
    "Rhythm": "리듬변경",
    "Genre": "장르변경",
    "Instrument": "악기변경",
    "Timbre": "음색변경",
    "Tempo": "템포변경",
}
#: Folder-name prefixes of tooling output kept beside the data set (``_truth/``, ``_zip/``, ``.git/``).
_TOOLING_PREFIXES = ("_", ".")
#: Extensions of a track's files; MusicXML may come as ``.xml`` or ``.musicxml``.
EXTENSIONS = {"wav": "wav", "mid": "mid", "midi": "mid", "xml": "xml", "musicxml": "xml", "json": "json"}

_ID_RE = re.compile(
    r"^(?P<kind>Similar|Regular)_(?P<genre>Ballade|Dance|Hiphop|RnB|Rock|Trot)_(?P<song>\d{5})_"
    r"(?P<version>Org|Cover_(?P<family>[A-Za-z]+)(?:_(?P<range>[A-D]))?)$"
)


@dataclasses.dataclass(frozen=True)
class TrackId:
    """The parts of a track id (a file stem such as ``Similar_Ballade_00001_Cover_Genre_A``).

    Attributes
    ----------
    kind : str
        ``Similar`` or ``Regular``.
    genre : str
        One of :data:`GENRES`.
    song_no : str
        Five digits.
    version : str
        ``Org`` or ``Cover_<Type>[_<Range>]`` as in the folder name.
    cover_type : str
        ``Org`` or ``<Type>_<Range>`` (the label's ``coverType``); ``<Type>`` alone where the
        delivery omitted the range.
    cover_range : str or None
        ``A``-``D``, or None for originals and range-less folders.
    """

    kind: str
    genre: str
    song_no: str
    version: str
    cover_type: str
    cover_range: str | None

    @property
    def track_id(self) -> str:
        return f"{self.kind}_{self.genre}_{self.song_no}_{self.version}"

    @property
    def is_original(self) -> bool:
        return self.version == "Org"

    @property
    def original_track_id(self) -> str:
        """The id of the original this track belongs to (itself for an original)."""
        return f"{self.kind}_{self.genre}_{self.song_no}_Org"

    @property
    def cover_family(self) -> str | None:
        """``Rhythm`` for ``Rhythm_A``; None for originals."""
        return None if self.is_original else self.cover_type.split("_")[0]

    @property
    def category(self) -> str:
        """The Korean ``category`` of the label."""
        if self.is_original:
            return CATEGORY_BY_VERSION[(self.kind, "Org")]
        return CATEGORY_BY_VERSION[self.cover_family]

    def __str__(self) -> str:
        return self.track_id


def parse_track_id(stem: str) -> TrackId:
    """Parse a track id (file stem).

    Raises
    ------
    ParameterError
        If ``stem`` is not of the form ``<kind>_<genre>_<songNo>_<version>``.
    """
    m = _ID_RE.match(stem)
    if not m:
        raise ParameterError(
            f"not a track id: {stem!r} (expected <Similar|Regular>_<Genre>_<5 digits>_<Org|Cover_Type_R>)"
        )
    fam, rng = m.group("family"), m.group("range")
    if fam is None:
        cover_type = "Org"
    else:
        cover_type = f"{fam}_{rng}" if rng else fam
    return TrackId(m.group("kind"), m.group("genre"), m.group("song"), m.group("version"), cover_type, rng)


def make_track_id(kind: str, genre: str, song_no: int | str, cover_type: str = "Org") -> TrackId:
    """Build a :class:`TrackId` from its parts (``cover_type`` ``Org`` or e.g. ``Rhythm_A``)."""
    song = f"{int(song_no):05d}"
    version = "Org" if cover_type == "Org" else f"Cover_{cover_type}"
    return parse_track_id(f"{kind}_{genre}_{song}_{version}")


def track_dir(tid: TrackId) -> str:
    """The track's folder relative to the data-set root, with ``/`` separators."""
    return posixpath.join(tid.kind, tid.genre, tid.song_no, tid.version)


def track_path(tid: TrackId, ext: str) -> str:
    """A file of the track, relative to the root, ``/`` separators (``ext`` without the dot)."""
    return posixpath.join(track_dir(tid), f"{tid.track_id}.{ext}")


def windows_path(tid: TrackId, ext: str) -> str:
    """The path as labels write it (``soundPath``/``midiPath``): Windows separators."""
    return track_path(tid, ext).replace("/", "\\")


def parse_relative_path(rel_path: str) -> tuple[TrackId, str]:
    """Parse ``<kind>/<genre>/<songNo>/<version>/<stem>.<ext>`` into (track id, normalised ext).

    The folder may omit the cover range (``Cover_Rhythm/``) while the stem carries it; any other
    disagreement between the folder and the file name is an error.

    Raises
    ------
    ParameterError
        If the path is not in the layout, or the file name disagrees with its folders. The
        message says which.
    """
    parts = rel_path.replace("\\", "/").strip("/").split("/")
    if len(parts) != 5:
        raise ParameterError(f"{rel_path}: not at <kind>/<genre>/<songNo>/<version>/<file> depth")
    kind, genre, song, version, name = parts
    stem, dot, ext = name.rpartition(".")
    if not dot or ext.lower() not in EXTENSIONS:
        raise ParameterError(f"{rel_path}: extension {ext!r} is not one of a track's files")
    tid = parse_track_id(stem)
    folder_ok = (
        tid.kind == kind and tid.genre == genre and tid.song_no == song
        and (tid.version == version or (tid.cover_range and tid.version == f"{version}_{tid.cover_range}"))
    )
    if not folder_ok:
        raise ParameterError(
            f"{rel_path}: file name {stem!r} disagrees with its folder {'/'.join(parts[:4])!r}"
        )
    return tid, EXTENSIONS[ext.lower()]


def normalize_label_path(label_path: str) -> str:
    """Turn a label's Windows path into a normalised relative POSIX path.

    Raises
    ------
    ParameterError
        If the path is absolute or, after resolving ``..``, leaves the data-set root.

    Examples
    --------
    >>> normalize_label_path("Similar\\\\Rock\\\\00001\\\\Org\\\\Similar_Rock_00001_Org.wav")
    'Similar/Rock/00001/Org/Similar_Rock_00001_Org.wav'
    """
    p = label_path.replace("\\", "/")
    if p.startswith("/") or re.match(r"^[A-Za-z]:", p):
        raise ParameterError(f"label path {label_path!r} is absolute")
    norm = posixpath.normpath(p)
    if norm == ".." or norm.startswith("../") or norm == ".":
        raise ParameterError(f"label path {label_path!r} escapes the data-set root")
    return norm


def is_tooling_folder(name: str) -> bool:
    """Whether a folder (by name, at any depth) holds tooling output rather than the data set.

    The one rule of which files belong to a data set: every file under the root except those
    below a folder named ``_*`` or ``.*`` (``_truth/``, ``_zip/``, ``.git/``). Ingest lists by it
    and the generator zips by it, so a set and its zip parts hold the same files.

    Examples
    --------
    >>> is_tooling_folder("_truth"), is_tooling_folder(".git"), is_tooling_folder("Similar")
    (True, True, False)
    """
    return name.startswith(_TOOLING_PREFIXES)

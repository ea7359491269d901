"""Deliver a data set as split zip parts, like the real delivery (``NAME.zip.part0``, ...).

One zip of the data-set tree (``Similar/`` and ``Regular/`` at the archive root; tooling folders,
``_*`` and ``.*`` at any depth, are left out by the same rule as ingest's listing), then a plain byte split: concatenating the parts in numeric
order gives the zip. Entries are sorted and stamped 1980-01-01 so the bytes depend only on the
files. WAVs are stored (they do not compress), everything else deflated.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from ..errors import ParameterError
from ..layout import is_tooling_folder

__all__ = ["write_zip_parts", "join_parts", "dataset_files"]

_EPOCH = (1980, 1, 1, 0, 0, 0)
_CHUNK = 1 << 20


def dataset_files(root: Path) -> list[str]:
    """Files of the data-set tree under ``root`` (relative POSIX paths, sorted), by the rule ingest
    lists with (:func:`musim_spark.layout.is_tooling_folder`: no ``_*``/``.*`` folders)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if not is_tooling_folder(d))
        out.extend((rel_dir / name).as_posix() for name in filenames)
    return sorted(out)


def write_zip_parts(root: str | os.PathLike, *, part_size: int, name: str | None = None,
                    out_dir: str | os.PathLike | None = None) -> list[Path]:
    """Zip the data-set tree of ``root`` and split it into parts of ``part_size`` bytes.

    Parameters
    ----------
    root : path-like
        The data-set root.
    part_size : int
        Bytes per part (the last part is smaller).
    name : str, optional
        Archive name (default: ``root``'s folder name).
    out_dir : path-like, optional
        Where the parts go (default ``root/_zip``).

    Returns
    -------
    list of Path
        ``<out_dir>/<name>.zip.part0``, ``.part1``, ... in order.
    """
    if part_size <= 0:
        raise ParameterError(f"zip part size {part_size} must be positive")
    root = Path(root)
    name = name or root.resolve().name
    out_dir = Path(out_dir) if out_dir else root / "_zip"
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"{name}.zip.part*"):
        old.unlink()
    whole = out_dir / f".{name}.zip.tmp"
    with zipfile.ZipFile(whole, "w") as zf:
        for rel in dataset_files(root):
            info = zipfile.ZipInfo(rel, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED if rel.lower().endswith(".wav") else zipfile.ZIP_DEFLATED
            with open(root / rel, "rb") as src, zf.open(info, "w") as dst:
                while chunk := src.read(_CHUNK):
                    dst.write(chunk)
    parts = []
    with open(whole, "rb") as f:
        i = 0
        while True:
            data = f.read(part_size)
            if not data:
                break
            part = out_dir / f"{name}.zip.part{i}"
            part.write_bytes(data)
            parts.append(part)
            i += 1
    whole.unlink()
    return parts


def join_parts(parts, dest: str | os.PathLike) -> Path:
    """Concatenate parts (sorted by their numeric suffix) into ``dest``."""
    def num(p):
        return int(str(p).rsplit(".part", 1)[1])

    dest = Path(dest)
    with open(dest, "wb") as out:
        for p in sorted(parts, key=num):
            out.write(Path(p).read_bytes())
    return dest

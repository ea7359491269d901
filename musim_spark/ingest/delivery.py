"""How a data set was delivered: a plain root, or split zip parts to land first. Pure: no Spark.

A root that holds ``Similar/`` or ``Regular/`` is read as it is. A root without them that holds
``NAME.zip.part<N>`` files is one archive's parts: they are landed (:func:`.zipparts.land_archive`:
streamed, incrementally, safely) into ``<warehouse>/<landing_dir>/<NAME>/`` and that folder is
the root to list. Anything else is read as it is (and its files end in quarantine).
"""

from __future__ import annotations

import os

from ..errors import ParameterError
from .settings import IngestSettings
from .zipparts import LandingResult, find_zip_parts, land_archive, safe_archive_name

__all__ = ["resolve_root", "landing_root", "describe_landing"]

_DATASET_FOLDERS = ("Similar", "Regular")


def resolve_root(root: str | os.PathLike, warehouse: str | os.PathLike, settings: IngestSettings
                 ) -> tuple[str, LandingResult | None]:
    """The data-set root to list: ``root`` itself, or the landing directory of its zip parts.

    ``root`` is treated as split-zip input when it holds ``*.zip.part<N>`` files and no
    ``Similar``/``Regular`` folder.

    Parameters
    ----------
    root : path-like
        A data-set root, or a directory of one archive's ``NAME.zip.part<N>`` files.
    warehouse : path-like
        The warehouse directory; zip input lands under ``settings.landing_dir`` there.
    settings : IngestSettings
        ``landing_dir`` and the ``zip`` bounds.

    Returns
    -------
    (str, LandingResult or None)
        The absolute root to list, and what landing did (None for a plain root).

    Raises
    ------
    ParameterError
        If ``root`` is not a directory, or holds parts of more than one archive.
    InputError
        From :func:`.zipparts.land_archive` (unreadable archive, over the total bound).
    """
    base = os.path.abspath(os.fspath(root))
    if not os.path.isdir(base):
        raise ParameterError(f"--root {root}: not a directory")
    if any(os.path.isdir(os.path.join(base, k)) for k in _DATASET_FOLDERS):
        return base, None
    archives = find_zip_parts(base)
    if not archives:
        return base, None
    if len(archives) > 1:
        raise ParameterError(f"--root {root}: parts of {len(archives)} archives ({sorted(archives)}); "
                             f"give one archive's parts per directory")
    (name, parts), = archives.items()
    landing = landing_root(warehouse, settings.landing_dir, name, where=parts[0])
    result = land_archive(parts, landing, name=name, bounds=settings.zip)
    return result.root, result


def landing_root(warehouse: str | os.PathLike, landing_dir: str, name: str, *, where: str = "") -> str:
    """``<warehouse>/<landing_dir>/<name>``, built from checked names and proven to stay in the landing area.

    Landing writes (and, after a failed first landing, deletes) under this folder, so it must never
    be the warehouse, the landing area itself, or anything outside it: the archive's name is one
    plain folder name (:func:`.zipparts.safe_archive_name`), and the resolved path (symbolic links
    followed) must lie strictly inside the resolved landing area.

    Raises
    ------
    ParameterError
        Naming ``where`` (the first part file) and why.

    Examples
    --------
    >>> landing_root("/wh", "_landing", "set")
    '/wh/_landing/set'
    """
    label = os.path.basename(os.fspath(where)) if where else name
    safe_archive_name(name, where=label)
    area = os.path.realpath(os.path.join(os.path.abspath(os.fspath(warehouse)), landing_dir))
    target = os.path.realpath(os.path.join(area, name))
    if os.path.dirname(target) != area:
        raise ParameterError(f"{label}: landing folder {target} is not directly inside the landing area {area}")
    return os.path.join(os.path.abspath(os.fspath(warehouse)), landing_dir, name)


def describe_landing(landing: LandingResult | None) -> str | None:
    """One line on what zip landing did (None for a plain root), for the stage's summary.

    Examples
    --------
    >>> describe_landing(LandingResult(root="/wh/_landing/set", skipped=True))
    '/wh/_landing/set: parts unchanged, not read'
    """
    if landing is None:
        return None
    if landing.skipped:
        return f"{landing.root}: parts unchanged, not read"
    return (f"{landing.root}: {landing.extracted} extracted, {landing.kept} kept, {landing.deleted} deleted, "
            f"{len(landing.rejected)} refused")

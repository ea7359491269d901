"""Where numba caches the compiled kernels when ``NUMBA_CACHE_DIR`` is not set.

The kernels are ``@njit(cache=True)``: compiling them costs seconds per process, loading them from
the on-disk cache milliseconds. numba writes the cache next to the source (``__pycache__``), else
under the user's cache directory, and when neither is writable (a package installed read-only for
a service user whose home is not writable) it refuses to define a cached function at all
(``RuntimeError: cannot cache function ...: no locator available``), i.e. ``import
musim_spark.similarity`` fails. :func:`configure` runs before any kernel module imports numba and,
only when the package directory is not writable, points ``NUMBA_CACHE_DIR`` at the user's cache
directory (``$XDG_CACHE_HOME`` or ``~/.cache``, ``musim-spark/numba``), else at a per-user folder
under the temporary directory. An explicit ``NUMBA_CACHE_DIR`` (``scripts/setup.sh`` sets one) is
always kept.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

__all__ = ["configure", "writable_dir"]


def writable_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` exists or can be created, and a file can be written in it (as numba tests it:
    ``os.access`` is not enough on read-only mounts for root)."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            return True
    except OSError:
        return False


def configure(package_dir: str | os.PathLike | None = None) -> str | None:
    """Set ``NUMBA_CACHE_DIR`` where numba could not cache next to the package's source.

    Parameters
    ----------
    package_dir : path-like, optional
        The directory of the kernel modules (default: this package's).

    Returns
    -------
    str or None
        The directory set, or None when nothing was changed (already set, or the package's
        ``__pycache__`` is writable).
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    here = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent
    if writable_dir(here / "__pycache__"):
        return None  # numba's default: next to the source
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    chosen = None
    for cand in (os.path.join(base, "musim-spark", "numba"),
                 os.path.join(tempfile.gettempdir(), f"musim-spark-numba-{getattr(os, 'getuid', lambda: 0)()}")):
        if writable_dir(cand):
            chosen = cand
            break
    if chosen is None:
        return None  # nowhere to write: numba will say so
    os.environ["NUMBA_CACHE_DIR"] = chosen
    if "numba.core.config" in sys.modules:  # numba read its settings already: make it read them again
        sys.modules["numba.core.config"].reload_config()
    return chosen

"""One writer per warehouse: a lock file created atomically inside it. Pure: no Spark.

Delta commits are safe against each other, but two runs of a stage on one warehouse at once
still waste work and interleave their ``runs`` rows and landing folders; every command that
writes tables holds this lock for its whole run (``musim ingest`` now; ``similarity`` and ``run``
when they are built).

The lock is ``<warehouse>/_musim.lock``, created with ``O_CREAT | O_EXCL`` (atomic on a local file
system and on NFSv3+), holding one JSON object: ``host``, ``pid``, ``run_id``, ``command``,
``since`` (seconds since the epoch). A second run either stops with
:class:`~musim_spark.errors.WarehouseLockedError` naming the holder, or waits (``wait_s``).

Stale locks: a run killed with ``kill -9`` (or a lost machine) leaves its lock behind. A lock is
stale when its ``pid`` no longer runs on this host (same host name), or, for a lock of another
host, whose processes cannot be checked from here, when it is older than ``stale_after_s``
(``delta.lock_stale_after_s``, 24 h by default: longer than any run). A stale lock is taken over with a
:class:`UserWarning` naming the old holder. Taking over renames the old file aside first and
checks that it was still the stale holder's, so two runs that both find the same stale lock
cannot both take it.

Examples
--------
>>> import tempfile
>>> wh = tempfile.mkdtemp()
>>> with warehouse_lock(wh, run_id="r1", command="ingest") as held:
...     read_holder(wh)["run_id"]
'r1'
>>> read_holder(wh) is None
True
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import socket
import time
import uuid
import warnings
from typing import Iterator

from ..errors import WarehouseLockedError

__all__ = ["LOCK_NAME", "HeldLock", "lock_path", "read_holder", "is_stale", "acquire", "release",
           "warehouse_lock", "command_lock", "describe_holder"]

#: File name of the lock inside the warehouse (``_``: no table has that name).
LOCK_NAME = "_musim.lock"


@dataclasses.dataclass(frozen=True)
class HeldLock:
    """A lock this process holds.

    Attributes
    ----------
    path : str
        The lock file.
    holder : dict
        What the file says (``host``, ``pid``, ``run_id``, ``command``, ``since``, ``token``).
    """

    path: str
    holder: dict


def lock_path(warehouse: str | os.PathLike) -> str:
    """The lock file of a warehouse."""
    return os.path.join(os.path.abspath(os.fspath(warehouse)), LOCK_NAME)


def read_holder(warehouse: str | os.PathLike) -> dict | None:
    """The current holder (the lock file's JSON), None when unlocked; ``{}`` for an unreadable file."""
    return _read(lock_path(warehouse))


def _read(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # being written right now, or garbage: judged by its file's age below
    return data if isinstance(data, dict) else {}


def describe_holder(holder: dict) -> str:
    """One line naming a holder: ``run r1 (musim ingest, pid 42 on host-a, since 2026-...Z)``."""
    since = holder.get("since")
    when = (dt.datetime.fromtimestamp(float(since), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if isinstance(since, (int, float)) else "an unknown time")
    return (f"run {holder.get('run_id', '?')} (musim {holder.get('command', '?')}, pid {holder.get('pid', '?')} "
            f"on {holder.get('host', '?')}, since {when})")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    except (OSError, OverflowError, ValueError):
        return False
    return True


def is_stale(holder: dict, *, now: float, stale_after_s: float, file_mtime: float | None = None) -> bool:
    """Whether a holder is gone: its pid is dead on this host, or (other hosts) it is older than the bound.

    Parameters
    ----------
    holder : dict
        :func:`read_holder`'s result (``{}`` for an unreadable file: stale once ``file_mtime`` is
        older than a few seconds, the time a writer needs to fill it).
    now : float
        Seconds since the epoch.
    stale_after_s : float
    file_mtime : float or None
        The lock file's modification time.

    Examples
    --------
    >>> is_stale({"host": "elsewhere", "pid": 1, "since": 0.0}, now=100.0, stale_after_s=50)
    True
    >>> is_stale({"host": "elsewhere", "pid": 1, "since": 90.0}, now=100.0, stale_after_s=50)
    False
    """
    if not holder:
        return file_mtime is not None and now - file_mtime > 10
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        return not _pid_alive(holder["pid"])
    since = holder.get("since")
    return not isinstance(since, (int, float)) or now - float(since) > stale_after_s


def _try_create(path: str, holder: dict) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(holder, f)
        f.flush()
        os.fsync(f.fileno())
    return True


def _take_over(path: str, seen: dict) -> bool:
    """Remove a stale lock, unless it changed hands since it was judged; True when it is gone."""
    aside = f"{path}.stale-{uuid.uuid4().hex}"
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True
    if _read(aside) != seen:
        # A fresh holder replaced it between our read and the rename: put it back (link fails
        # only if yet another lock appeared, which then holds the warehouse anyway).
        with contextlib.suppress(OSError):
            os.link(aside, path)
    with contextlib.suppress(OSError):
        os.remove(aside)
    return True


def acquire(warehouse: str | os.PathLike, *, run_id: str, command: str, wait_s: float = 0.0,
            stale_after_s: float = 86400.0, poll_s: float = 1.0) -> HeldLock:
    """Take the warehouse's lock, waiting up to ``wait_s`` seconds for a live holder.

    Parameters
    ----------
    warehouse : path-like
        Created if missing.
    run_id, command : str
        Recorded in the lock, named to whoever finds it held.
    wait_s : float
        Seconds to wait for a live holder (0: fail at once).
    stale_after_s : float
        Age after which another host's lock counts as stale (:func:`is_stale`).
    poll_s : float
        Seconds between tries while waiting.

    Returns
    -------
    HeldLock

    Raises
    ------
    WarehouseLockedError
        One line naming the holder (run id, command, pid, host, since) and the lock file.
    """
    path = lock_path(warehouse)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    holder = {"host": socket.gethostname(), "pid": os.getpid(), "run_id": run_id, "command": command,
              "since": time.time(), "token": uuid.uuid4().hex}
    deadline = time.monotonic() + max(0.0, wait_s)
    while True:
        if _try_create(path, holder):
            return HeldLock(path, holder)
        seen = _read(path)
        if seen is None:
            continue  # released between our two calls
        try:
            mtime = os.stat(path).st_mtime
        except FileNotFoundError:
            continue
        if is_stale(seen, now=time.time(), stale_after_s=stale_after_s, file_mtime=mtime):
            warnings.warn(f"{path}: taking over the stale lock of {describe_holder(seen)}", UserWarning,
                          stacklevel=2)
            _take_over(path, seen)
            continue
        if time.monotonic() >= deadline:
            waited = f" after waiting {wait_s:g} s" if wait_s else ""
            raise WarehouseLockedError(
                f"{path}: warehouse is locked by {describe_holder(seen)}{waited}; wait for it "
                f"(--wait-lock SECONDS), or remove the file if that run is gone"
            )
        time.sleep(max(0.01, min(poll_s, deadline - time.monotonic())))


def release(held: HeldLock) -> None:
    """Remove the lock if it is still ours (a run that lost it to a takeover leaves the new one)."""
    if (_read(held.path) or {}).get("token") == held.holder["token"]:
        with contextlib.suppress(FileNotFoundError):
            os.remove(held.path)


@contextlib.contextmanager
def warehouse_lock(warehouse: str | os.PathLike, *, run_id: str, command: str, wait_s: float = 0.0,
                   stale_after_s: float = 86400.0, poll_s: float = 1.0) -> Iterator[HeldLock]:
    """``with warehouse_lock(...)``: :func:`acquire` on entry, :func:`release` on exit (errors too)."""
    held = acquire(warehouse, run_id=run_id, command=command, wait_s=wait_s, stale_after_s=stale_after_s,
                   poll_s=poll_s)
    try:
        yield held
    finally:
        release(held)


@contextlib.contextmanager
def command_lock(warehouse: str | os.PathLike, *, run_id: str, command: str, wait_s: float = 0.0,
                 stale_after_s: float = 86400.0, warn=None) -> Iterator[HeldLock]:
    """:func:`warehouse_lock` for a CLI command: a stale lock taken over is reported through
    ``warn(line)`` (one line each, e.g. printed to stderr) instead of as a Python warning."""
    with warnings.catch_warnings(record=True) as taken_over:
        warnings.simplefilter("always", UserWarning)
        held = acquire(warehouse, run_id=run_id, command=command, wait_s=wait_s, stale_after_s=stale_after_s)
    for w in taken_over:
        if warn is not None:
            warn(str(w.message))
    try:
        yield held
    finally:
        release(held)

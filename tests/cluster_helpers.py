"""A real Spark standalone cluster on 127.0.0.1 for tests: one master, N workers, always stopped.

Started from the pip-installed pyspark's own launcher (``bin/spark-class`` with the master and worker
classes), under a ``SPARK_HOME`` that is a temporary directory of symlinks to the pyspark package,
so nothing (``work/``, logs) is written into site-packages. Ports are free ones picked at start;
:meth:`StandaloneCluster.start` returns once every worker has registered with the master (polled on
the master's ``/json`` page).

Also :func:`package_zip`: ``musim_spark`` as a zip to ship to the executors, as a user would with
``spark-submit --py-files``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

__all__ = ["StandaloneCluster", "free_port", "package_zip", "spark_home_of_pyspark", "jvm_pids_under"]


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_home_of_pyspark(where: Path) -> Path:
    """A ``SPARK_HOME`` under ``where``: symlinks to every entry of the pyspark package (bin, jars, ...)."""
    import pyspark

    package = Path(pyspark.__file__).resolve().parent
    home = where / "spark-home"
    home.mkdir(parents=True, exist_ok=True)
    for entry in package.iterdir():
        link = home / entry.name
        if not link.exists():
            link.symlink_to(entry)
    for sub in ("work", "logs", "conf"):
        (home / sub).mkdir(exist_ok=True)
    return home


def package_zip(dest: Path, package_dir: Path) -> Path:
    """Zip the package folder ``package_dir`` (``.../musim_spark``) into ``dest`` (no caches)."""
    root = package_dir.parent
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(package_dir.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                zf.write(path, path.relative_to(root).as_posix())
    return dest


def jvm_pids_under(marker: str) -> list[int]:
    """Ids of running JVMs whose command line contains ``marker`` (the cluster's temp dir)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd and "java" in cmd.split(" ", 1)[0] and int(proc.name) != os.getpid():
            pids.append(int(proc.name))
    return pids


class StandaloneCluster:
    """A standalone master and ``workers`` workers (``cores`` cores, ``memory`` each) on 127.0.0.1.

    Use as a context manager: every JVM it started (and the executors they launched, which share
    their process group) is stopped on exit, also when the body fails.

    Attributes
    ----------
    url : str
        ``spark://127.0.0.1:<port>``, for ``--master``.
    web_url : str
        The master's web UI (``/json`` lists workers and applications).
    home : Path
        The ``SPARK_HOME`` (its ``work/`` holds each executor's folder and logs).
    """

    def __init__(self, tmp: Path, *, workers: int = 2, cores: int = 1, memory: str = "1g",
                 start_timeout_s: float = 120.0):
        self.tmp = Path(tmp)
        self.n_workers = workers
        self.cores = cores
        self.memory = memory
        self.start_timeout_s = start_timeout_s
        self.home = spark_home_of_pyspark(self.tmp)
        self.port = free_port()
        self.web_port = free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self._procs: list[subprocess.Popen] = []
        self._logs: list[Path] = []

    # --- processes -----------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The daemons' environment: our SPARK_HOME, loopback only, and no PYTHONPATH.

        PYTHONPATH is removed on purpose: executors inherit the worker's environment, and the
        package must reach them the way it reaches a real cluster's (shipped with the job), not
        through this checkout's path.
        """
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPARK_CONF_DIR")}
        env.update(
            SPARK_HOME=str(self.home),
            SPARK_LOCAL_IP="127.0.0.1",
            SPARK_LOG_DIR=str(self.home / "logs"),
            SPARK_CONF_DIR=str(self.home / "conf"),
            SPARK_NO_DAEMONIZE="1",
            # daemon heaps: small (the machine is shared)
            SPARK_DAEMON_MEMORY="256m",
        )
        return env

    def _spawn(self, name: str, args: list[str]) -> None:
        log = self.tmp / f"{name}.log"
        self._logs.append(log)
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [str(self.home / "bin" / "spark-class"), *args],
                env=self.env(), cwd=self.tmp, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() signals the JVM and its executors
            )
        self._procs.append(proc)

    def master_json(self) -> dict:
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=5) as r:
            return json.loads(r.read().decode())

    def _wait(self, what: str, ready) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            for proc, log in zip(self._procs, self._logs):
                if proc.poll() is not None:
                    raise RuntimeError(f"{log.name} exited ({proc.returncode}):\n{self.tail(log)}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"cluster: {what} not ready after {self.start_timeout_s:.0f} s\n"
                           + "\n".join(self.tail(log) for log in self._logs))

    @staticmethod
    def tail(log: Path, n: int = 30) -> str:
        try:
            return "\n".join(log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def alive_workers(self) -> list[dict]:
        return [w for w in self.master_json().get("workers", []) if w.get("state") == "ALIVE"]

    def start(self) -> "StandaloneCluster":
        self._spawn("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                               "--port", str(self.port), "--webui-port", str(self.web_port)])
        self._wait("master", lambda: self.master_json().get("status") == "ALIVE")
        for i in range(self.n_workers):
            work = self.home / "work" / f"worker{i}"
            work.mkdir(parents=True, exist_ok=True)
            self._spawn(f"worker{i}", ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                       "--port", str(free_port()), "--webui-port", str(free_port()),
                                       "--cores", str(self.cores), "--memory", self.memory,
                                       "--work-dir", str(work), self.url])
        self._wait(f"{self.n_workers} workers", lambda: len(self.alive_workers()) >= self.n_workers)
        return self

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM every process group started, then SIGKILL what is left; also stray executors."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout_s
        for proc in self._procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self._procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        # Executors run in the workers' process groups, but make sure: any JVM under our folder.
        deadline = time.monotonic() + 10.0
        while (left := jvm_pids_under(str(self.tmp))) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)

    def __enter__(self) -> "StandaloneCluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":  # pragma: no cover - manual check: start, print, stop
    import tempfile

    with tempfile.TemporaryDirectory(prefix="musim-cluster-") as d, StandaloneCluster(Path(d)) as c:
        print(c.url, c.web_url, [w["id"] for w in c.alive_workers()], file=sys.stderr)
    print("left:", jvm_pids_under(d), file=sys.stderr)

"""The machine a benchmark ran on, in one line for its results file (bench scripts import it as ``host``:
``python bench/X.py`` puts ``bench/`` first on ``sys.path``)."""

import os
import platform


def describe_machine(*, load: bool = False) -> str:
    """``x86_64, nproc=2, <CPU model>`` (and the 1-minute load average when ``load``)."""
    model = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    text = f"{platform.machine()}, nproc={os.cpu_count()}, {model}"
    return text + (f", load avg {os.getloadavg()[0]:.1f} at start" if load else "")

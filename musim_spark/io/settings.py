"""The ``delta:`` section of the configuration, as a frozen dataclass.

Examples
--------
>>> DeltaSettings.from_config(None).engine
'auto'
>>> DeltaSettings(engine="delta-rs").engine
'delta-rs'
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from ..config import SectionSettings
from ..errors import ParameterError

__all__ = ["DeltaSettings", "Engine", "ENGINES"]

#: How a Spark DataFrame is written: ``spark`` (``format("delta")``, needs the Delta jars),
#: ``delta-rs`` (Spark tasks write Parquet files, the driver commits them with deltalake) or
#: ``auto`` (``spark`` when the jars are on the classpath, else ``delta-rs``).
Engine = Literal["auto", "spark", "delta-rs"]
ENGINES: tuple[str, ...] = ("auto", "spark", "delta-rs")


@dataclasses.dataclass(frozen=True)
class DeltaSettings(SectionSettings):
    """The ``delta:`` section of the configuration.

    Attributes
    ----------
    engine : {"auto", "spark", "delta-rs"}
        What :func:`musim_spark.io.spark_io.write_dataframe` uses; stages pass
        ``engine=settings.engine``.
    lock_stale_after_s : float
        Seconds after which another host's warehouse lock counts as stale and is taken over
        (:mod:`musim_spark.io.lock`; a lock of this host is stale as soon as its process is gone).
    """

    SECTION = "delta"

    engine: Engine = "auto"
    lock_stale_after_s: float = 86400.0

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ParameterError(f"delta.engine must be auto, spark or delta-rs, got {self.engine!r}")
        if not self.lock_stale_after_s > 0:
            raise ParameterError(f"delta.lock_stale_after_s must be > 0, got {self.lock_stale_after_s}")


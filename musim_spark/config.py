"""Pipeline configuration: YAML files, parsed once per job into frozen objects.

Library code never reads files or environment variables for settings; jobs and the CLI call
:func:`load_config` once and pass the result (or a stage's section of it) down.

The defaults ship with the package (``musim_spark/resources/defaults.yaml``, :func:`default_conf_path`),
so an installed package needs no repository checkout; ``conf/local.yaml`` of the repository names
it as its base. A file may name a ``base:`` file (relative to itself) whose values it overrides, so
``conf/gpu.yaml`` only states what differs from ``conf/cluster.yaml``. Relative paths of data folders
inside a file are not resolved here: each stage's settings resolve theirs (against the current
working directory).

Each stage owns a frozen dataclass for its section, built with :func:`section_dataclass`, so
stages can grow settings without touching this module. The top-level section names are closed
(:data:`SECTIONS`): an unknown one (``sparkk:``) is an error naming the closest known name, never a
section nobody reads.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
import types
from pathlib import Path
from typing import Any, ClassVar, Mapping, TypeVar

import yaml

from .errors import ParameterError

__all__ = ["Config", "SparkSettings", "SECTIONS", "SectionSettings", "load_config", "section_dataclass",
           "default_conf_path"]

#: The top-level sections a configuration file may have (``base:`` aside). A stage that adds a
#: section adds its name here; ``gpu`` is read by the GPU stages to come (conf/gpu.yaml).
SECTIONS = ("spark", "delta", "sample_data", "ingest", "similarity", "retrieval", "sweep", "export", "transcribe",
            "gpu", "separate")

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class SparkSettings:
    """How to build the Spark session (see :mod:`musim_spark.spark`).

    Attributes
    ----------
    master : str
        ``local[*]``, ``local-cluster[2,1,1024]``, ``spark://host:7077``, ``yarn``, ``k8s://...``.
    app_name : str
    driver_memory, executor_memory : str
        JVM heap sizes such as ``"4g"``.
    shuffle_partitions : int
    arrow_batch_size : int
        ``spark.sql.execution.arrow.maxRecordsPerBatch``: rows per Arrow batch sent to Python.
    event_log_dir : str or None
        Where to keep the event log (for the history server); None disables it.
    show_progress : bool
        Spark's console progress bar on long stages.
    conf : Mapping[str, str]
        Any further ``spark.*`` settings, passed through unchanged.
    """

    master: str = "local[*]"
    app_name: str = "musim-spark"
    driver_memory: str = "4g"
    executor_memory: str = "4g"
    shuffle_partitions: int = 8
    arrow_batch_size: int = 64
    event_log_dir: str | None = None
    show_progress: bool = True
    conf: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Config:
    """A parsed configuration file.

    Attributes
    ----------
    path : str
        The file it came from.
    spark : SparkSettings
    sections : Mapping[str, Mapping]
        Every other top-level section (``delta``, ``sample_data``, ``ingest``, ``similarity``...),
        read-only. Stages turn theirs into a dataclass with :func:`section_dataclass`.
    """

    path: str
    spark: SparkSettings
    sections: Mapping[str, Mapping[str, Any]]

    def section(self, name: str) -> Mapping[str, Any]:
        """The named section (empty mapping when the file has none)."""
        return self.sections.get(name, types.MappingProxyType({}))

    @property
    def fingerprint(self) -> str:
        """A short hash of the effective settings, recorded with every commit."""
        blob = json.dumps(
            {"spark": dataclasses.asdict(self.spark), "sections": _thaw(self.sections)},
            sort_keys=True, default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def default_conf_path() -> Path:
    """The packaged default configuration (the CLI's default when neither flag nor env is set).

    It is package data, next to this module in an installed wheel as in a checkout.
    """
    return Path(__file__).resolve().parent / "resources" / "defaults.yaml"


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    if path in seen:
        raise ParameterError(f"{path}: 'base:' chain loops back to itself")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ParameterError(f"configuration file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML: {_yaml_reason(exc)}") from exc
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    base = data.pop("base", None)
    _check_sections(path, data)
    if base:
        merged = _read_yaml((path.parent / base).resolve(), seen + (path,))
        return _deep_merge(merged, data)
    return data


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """PyYAML's multi-line message (source excerpt, caret) as one line with the position."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if not problem:
        return " ".join(str(exc).split())
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
    if context and context_mark is not None:
        context += f" that starts at line {context_mark.line + 1} column {context_mark.column + 1}"
    return f"{problem}{where}" + (f" ({context})" if context else "")


def _check_sections(path: Path, data: Mapping[str, Any]) -> None:
    """Refuse a top-level key that is no section (a typo would otherwise be silently ignored)."""
    for key in data:
        if key not in SECTIONS:
            close = difflib.get_close_matches(str(key), SECTIONS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ParameterError(f"{path}: unknown section {key!r}{hint} (known: {', '.join(SECTIONS)})")


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _freeze(obj: Any) -> Any:
    if isinstance(obj, dict):
        return types.MappingProxyType({k: _freeze(v) for k, v in obj.items()})
    if isinstance(obj, list):
        return tuple(_freeze(v) for v in obj)
    return obj


def _thaw(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _thaw(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [_thaw(v) for v in obj]
    return obj


def section_dataclass(cls: type[T], values: Mapping[str, Any], *, where: str = "") -> T:
    """Build the frozen dataclass ``cls`` from a config section, refusing unknown keys.

    Raises
    ------
    ParameterError
        On a key ``cls`` does not have (a typo in YAML must not pass silently).
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ParameterError(
            f"{where or cls.__name__}: unknown setting(s) {unknown}; known: {sorted(names)}"
        )
    return cls(**{k: _thaw(v) for k, v in values.items()})


class SectionSettings:
    """Base of the settings dataclasses: ``from_config`` reads the section named ``SECTION``.

    Library code never reads the file; the CLI and jobs call ``XSettings.from_config(config)`` once and
    pass the result down. Subclasses are frozen dataclasses whose defaults equal the packaged
    ``resources/defaults.yaml``; a subclass with nested or derived values overrides ``from_config``.

    Examples
    --------
    >>> @dataclasses.dataclass(frozen=True)
    ... class Demo(SectionSettings):
    ...     SECTION = "demo"
    ...     size: int = 3
    >>> Demo.from_config(None)
    Demo(size=3)
    """

    SECTION: ClassVar[str] = ""

    @classmethod
    def from_config(cls, config: "Config | None"):
        """The ``SECTION`` section of a loaded configuration (defaults where absent; None: all defaults).

        Raises
        ------
        ParameterError
            An unknown key in the section (the message names the file and the section).
        """
        if config is None:
            return cls()
        return section_dataclass(cls, config.section(cls.SECTION), where=f"{config.path}: {cls.SECTION}")


def load_config(path: str | os.PathLike | None = None, *, master: str | None = None) -> Config:
    """Read a configuration file.

    Parameters
    ----------
    path : path-like or None
        The YAML file; None means :func:`default_conf_path`.
    master : str or None
        Overrides ``spark.master`` (the CLI's ``--master`` / ``MUSIM_MASTER``).

    Raises
    ------
    ParameterError
        If the file is missing, not YAML, has a top-level section not in :data:`SECTIONS`, or
        unknown keys in ``spark``.
    """
    p = Path(path) if path else default_conf_path()
    data = _read_yaml(p.resolve())
    spark_values = dict(data.pop("spark", {}) or {})
    if master:
        spark_values["master"] = master
    spark = section_dataclass(SparkSettings, spark_values, where=f"{p}: spark")
    return Config(path=str(p), spark=spark, sections=_freeze(data))

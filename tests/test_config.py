import dataclasses
from pathlib import Path

import pytest

from musim_spark.config import default_conf_path, load_config, section_dataclass
from musim_spark.errors import ParameterError

REPO_CONF = Path(__file__).resolve().parents[1] / "conf"


def test_default_local_conf_loads():
    cfg = load_config(None)
    assert cfg.path == str(default_conf_path())
    assert cfg.spark.master == "local[*]"
    assert cfg.section("delta")["engine"] in ("auto", "spark", "delta-rs")
    assert cfg.section("no-such-section") == {}


def test_default_conf_is_package_data_and_the_repo_conf_agrees():
    """The default ships inside the package (an installed wheel needs no checkout) and is the
    one copy of the defaults: the repository's conf/local.yaml only names it as its base."""
    import musim_spark

    package = Path(musim_spark.__file__).resolve().parent
    assert default_conf_path().is_file() and package in default_conf_path().parents
    packaged, local = load_config(None), load_config(REPO_CONF / "local.yaml")
    assert local.spark == packaged.spark
    assert dict(local.sections) == dict(packaged.sections)
    assert local.fingerprint == packaged.fingerprint
    # and the wheel ships it: a package-data glob of pyproject.toml matches it
    import fnmatch
    import tomllib

    pyproject = tomllib.loads((REPO_CONF.parent / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["musim_spark"]
    rel = default_conf_path().relative_to(package).as_posix()
    assert any(fnmatch.fnmatch(rel, g) for g in globs), (rel, globs)


def test_base_chain_overrides_and_merges():
    root = REPO_CONF
    gpu = load_config(root / "gpu.yaml")
    cluster = load_config(root / "cluster.yaml")
    local = load_config(root / "local.yaml")
    # gpu.yaml -> cluster.yaml -> local.yaml: values from all three, nearest wins, conf maps merge
    assert gpu.spark.master == cluster.spark.master != local.spark.master
    assert gpu.spark.conf["spark.executor.resource.gpu.amount"] == "1"
    # GPUs per task only through the model stages' resource profile, never for every task
    assert "spark.task.resource.gpu.amount" not in gpu.spark.conf and gpu.section("gpu")["task_gpu_amount"] == 0.25
    assert gpu.spark.conf["spark.executor.cores"] == cluster.spark.conf["spark.executor.cores"]
    assert gpu.spark.conf["spark.python.worker.reuse"] == local.spark.conf["spark.python.worker.reuse"]
    assert gpu.fingerprint != cluster.fingerprint


def test_base_chain_in_tmp(tmp_path):
    (tmp_path / "a.yaml").write_text("spark:\n  shuffle_partitions: 3\n  conf:\n    x.a: '1'\ngpu:\n  k: 1\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\nspark:\n  conf:\n    x.b: '2'\ngpu:\n  j: 2\n")
    cfg = load_config(tmp_path / "b.yaml")
    assert cfg.spark.shuffle_partitions == 3
    assert dict(cfg.spark.conf) == {"x.a": "1", "x.b": "2"}
    assert dict(cfg.section("gpu")) == {"k": 1, "j": 2}


def test_base_loop_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ParameterError, match="loops"):
        load_config(tmp_path / "a.yaml")


def test_unknown_spark_key_is_an_error(tmp_path):
    (tmp_path / "c.yaml").write_text("spark:\n  masterr: local\n")
    with pytest.raises(ParameterError, match="masterr"):
        load_config(tmp_path / "c.yaml")


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ParameterError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("spark: [unclosed\n")
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_master_override():
    cfg = load_config(None, master="local[2]")
    assert cfg.spark.master == "local[2]"
    assert load_config(None).fingerprint != cfg.fingerprint


def test_master_override_from_cli_env(monkeypatch, tmp_path):
    from musim_spark import cli

    monkeypatch.setenv("MUSIM_MASTER", "local[3]")
    args = cli.build_parser().parse_args(["status", "--warehouse", str(tmp_path)])
    assert args.master == "local[3]"
    args = cli.build_parser().parse_args(["status", "--master", "local[1]"])
    assert args.master == "local[1]"


def test_section_dataclass_refuses_unknown_keys():
    @dataclasses.dataclass(frozen=True)
    class S:
        a: int = 1

    assert section_dataclass(S, {"a": 2}).a == 2
    with pytest.raises(ParameterError, match="unknown setting"):
        section_dataclass(S, {"b": 2}, where="conf: s")

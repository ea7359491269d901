"""``musim run``: the scheduling examples parse and call it; a night with nothing new starts no Spark."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import musim_spark.spark
from musim_spark import cli

REPO = Path(__file__).resolve().parent.parent
SCHEDULE = REPO / "scripts" / "schedule"


def _musim_args(command: str) -> list[str]:
    """The arguments after ``musim`` in a shell command line (up to a redirection or ``&&``)."""
    words = shlex.split(command.split("&&")[-1].split(">>")[0])
    return words[[i for i, w in enumerate(words) if w.endswith("musim")][0] + 1:]


def test_cron_line_calls_musim_run_with_options_the_parser_accepts():
    lines = [ln for ln in (SCHEDULE / "musim.cron").read_text().splitlines() if ln and not ln.startswith("#")]
    job = next(ln for ln in lines if re.match(r"^[\d*/,-]+ ", ln))
    fields = job.split(None, 5)
    assert len(fields) == 6 and fields[:5] == ["30", "2", "*", "*", "*"]
    args = _musim_args(fields[5].replace("\\%", "%"))
    parsed = cli.build_parser(only="run").parse_args(args)
    assert parsed.command == "run" and parsed.root == "/data/music-set"


def test_airflow_dag_parses_without_airflow_and_runs_the_same_command():
    tree = ast.parse((SCHEDULE / "musim_nightly_dag.py").read_text(encoding="utf-8"))
    imports = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {"airflow", "airflow.operators.bash"} <= imports
    value = next(n.value for n in tree.body if isinstance(n, ast.Assign)
                 and any(getattr(t, "id", "") == "COMMAND" for t in n.targets))
    # the literal parts of COMMAND (its f-string holds only the install folder)
    command = "".join(v.value for v in ast.walk(value) if isinstance(v, ast.Constant) and isinstance(v.value, str))
    parsed = cli.build_parser(only="run").parse_args(_musim_args(command))
    assert parsed.command == "run" and parsed.wait_lock == 3600
    dag_kw = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "DAG")
    kw = {k.arg: k.value for k in dag_kw.keywords}
    assert ast.literal_eval(kw["schedule"]) == "30 2 * * *" and ast.literal_eval(kw["max_active_runs"]) == 1


def test_run_with_nothing_new_starts_no_spark(tmp_path, monkeypatch, capsys):
    """An empty warehouse and an empty root: ingest has nothing to parse, the sweep nothing to score."""
    from musim_spark.ingest.settings import IngestSettings

    def refuse(*a, **k):
        raise AssertionError("musim run must not start Spark when there is nothing to do")

    monkeypatch.setattr(musim_spark.spark, "build_spark_session", refuse)
    root = tmp_path / "set"
    (root / "Similar").mkdir(parents=True)
    rc = cli.main(["run", "--root", str(root), "--warehouse", str(tmp_path / "wh"), "--no-audio"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "nothing new: Spark was not started" in out and "similarity:" in out
    assert IngestSettings  # the ingest settings module is importable without Spark

import subprocess
import sys
from pathlib import Path

import pytest

from musim_spark import cli

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ["sample-data", "ingest", "separate", "transcribe", "similarity", "export", "run", "compare",
            "evaluate", "status"]


def test_every_contract_command_exists():
    assert list(cli.COMMANDS) == CONTRACT


@pytest.mark.parametrize("command", CONTRACT)
def test_help_everywhere_with_common_options(command, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--conf" in out and "--warehouse" in out


def test_stage_not_built_says_so_and_fails(capsys):
    pending = [c for c, (m, _) in cli.COMMANDS.items() if m is None]
    if not pending:
        pytest.skip("every stage is built")
    args = {"export": ["--out", "x"], "run": ["--root", "x"], "evaluate": ["--truth", "x"]}
    rc = cli.main([pending[0], *args.get(pending[0], [])])
    assert rc == 2
    assert "not built yet" in capsys.readouterr().err


def test_bad_conf_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("spark:\n  masterr: local\n")
    rc = cli.main(["status", "--conf", str(bad), "--warehouse", str(tmp_path / "wh")])
    assert rc == 1
    err = capsys.readouterr().err
    assert "masterr" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("job", sorted(p.name for p in (ROOT / "jobs").glob("*.py")))
def test_job_files_are_thin_entry_points(job):
    text = (ROOT / "jobs" / job).read_text()
    code = [l for l in text.splitlines() if l.strip() and not l.startswith(("#", '"""', "import", "from"))]
    assert len(code) <= 8, f"jobs/{job} should only wire musim_spark calls"
    r = subprocess.run([sys.executable, str(ROOT / "jobs" / job), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--warehouse" in r.stdout

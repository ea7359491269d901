"""The README's layout section names every module and folder of the tree, and nothing that is gone."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _layout_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Layout"):]
    return re.search(r"```\n(.*?)```", section, re.S).group(1)


def _named_files(block: str) -> set[str]:
    """Every ``name.py`` in the block, qualified by the package folder whose entry it is under."""
    named, package = set(), ""
    for line in block.splitlines():
        m = re.match(r"  (\w+)/\s", line)
        if m:
            package = m.group(1) + "/"
        elif re.match(r"  \w+\.py", line) or re.match(r"\w", line):
            package = ""
        for name in re.findall(r"\b(\w+)\.py\b", line):
            named.add(package + name + ".py")
    return named


def test_every_module_is_in_the_readme_layout():
    block = _layout_block()
    named = _named_files(block)
    pkg = ROOT / "musim_spark"
    missing = []
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg).as_posix()
        if path.name == "__init__.py" or "__pycache__" in rel:
            continue
        if rel not in named:
            missing.append(rel)
    assert not missing, f"modules missing from README's layout: {missing}"


def test_the_readme_layout_names_nothing_that_is_gone():
    named = _named_files(_layout_block())
    pkg = ROOT / "musim_spark"
    gone = [rel for rel in sorted(named) if not (pkg / rel).exists()
            and not any(any((ROOT / top).rglob(rel)) for top in ("scripts", "bench", "jobs"))]
    assert not gone, f"README's layout names files that do not exist: {gone}"
    for folder in re.findall(r"^(\w+)/\s", _layout_block(), re.M):
        assert (ROOT / folder).is_dir(), folder

"""The README's Quick start is what CI runs, and every command it names exists."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quick_start_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```")[1::2]
    return [b.strip() for b in blocks]


def test_quick_start_has_exactly_two_command_lines():
    lines = _quick_start_lines()
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert lines[0].endswith("lab")
    assert lines[1].endswith("pytest")


def test_ci_runs_the_readme_test_line_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _quick_start_lines()[1] in ci


def test_ci_also_runs_the_linter_and_the_type_checker():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "ruff check ." in ci and "mypy lab" in ci
    assert "set -euo pipefail" in ci  # a failing step fails the run


def test_every_command_in_the_readme_table_is_registered():
    from lab.commands import builtin, lessons  # noqa: F401
    from lab.commands.registry import ALIASES, REGISTRY

    text = (ROOT / "README.md").read_text()
    table = text.split("The main ones:", 1)[1].split("Pacing:", 1)[0]
    words = {cell.strip("`").split()[0] for cell in table.split("`")[1::2] if cell.strip()}
    unknown = {w for w in words if w not in REGISTRY and w not in ALIASES and w != "not"}
    assert not unknown, unknown


def test_lesson_files_may_use_every_lab_command():
    """The lesson loader keeps its own list (it sits below the command layer): keep them in step."""
    from lab.commands import builtin, lessons  # noqa: F401
    from lab.commands.registry import REGISTRY
    from lab.lessons.language import FORBIDDEN_IN_LESSONS, LAB_COMMANDS

    lab_commands = {n for n, c in REGISTRY.items() if c.category not in ("lesson", "meta")}
    assert lab_commands - LAB_COMMANDS - FORBIDDEN_IN_LESSONS == set()


def test_the_readme_and_the_code_cite_only_files_in_the_repository():
    """A reader has this repository, not the team's notes: every `*.md` named in the README, the
    docs, the code or the tests exists here, and the README links the contributor docs."""
    import re

    readme = (ROOT / "README.md").read_text()
    assert "(docs/ARCHITECTURE.md)" in readme
    assert "../" not in readme
    sources = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "lab").rglob("*.py"),
               *(ROOT / "tests").rglob("*.py")]
    ours = {p.name for p in [*ROOT.glob("*.md"), *(ROOT / "docs").glob("*.md")]}
    missing = set()
    for path in sources:
        for name in re.findall(r"[\w./-]*\b[A-Z][A-Za-z_]*\.md\b", path.read_text(encoding="utf-8")):
            found = name in ours if "/" not in name else any((base / name).exists() for base in (ROOT, path.parent))
            if not found:
                missing.add(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, sorted(missing)

"""A plain `pip install .` (what CI and a learner run) ships every package of the lab.

pyproject.toml lists the packages by hand (the top-level lessons/ folder ships as
lab.lessons_data), so a new sub-package that is not listed would be missing from
an installed lab while an editable install still finds it.
"""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_under_lab_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "lab").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"

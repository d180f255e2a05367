"""Every third-party module Herald imports comes from a distribution ``pyproject.toml`` declares.

A module that arrives only through another package's dependencies works until that package
changes, or until an older pip resolves its extras differently: Python 3.11's own pip 23
installed trafilatura without ``lxml_html_clean`` and the bot died at start with an ImportError.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = {"bot", "handlers", "storage", "tests", "bench"}
# Imported by a dependency on a path Herald uses, and missing with some pip versions: Herald
# declares them itself. Module → why.
INDIRECT = {"lxml_html_clean": "trafilatura's /post URL extraction imports lxml.html.clean"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(*groups: str) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for group in groups:
        requirements += project["optional-dependencies"][group]
    return {_normalise(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}


def _imported(*folders: str) -> dict[str, str]:
    """Top-level third-party modules imported anywhere in ``folders`` → a file importing it."""
    found: dict[str, str] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in OWN:
                        found.setdefault(top, f"imported in {path.relative_to(ROOT)}")
    return found


def _undeclared(modules: dict[str, str], declared: set[str]) -> list[str]:
    owners = packages_distributions()
    missing = []
    for module, where in sorted(modules.items()):
        distributions = {_normalise(d) for d in owners.get(module, [])}
        if not distributions & declared:
            missing.append(f"{module} ({where}; from {sorted(distributions)})")
    return missing


def test_every_import_of_the_bot_is_a_declared_dependency() -> None:
    modules = _imported("bot", "handlers", "storage")
    assert "telegram" in modules and "aiosqlite" in modules  # the scan sees real imports
    modules.update({module: why for module, why in INDIRECT.items()})
    assert _undeclared(modules, _declared()) == []


def test_every_import_of_tests_and_benchmarks_is_declared_for_development() -> None:
    modules = _imported("tests", "bench")
    assert "pytest" in modules
    assert _undeclared(modules, _declared("dev")) == []

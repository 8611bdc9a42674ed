"""The one-way house: the pure core loads no I/O, model, CLI or web packages; only the CLI
imports click; the library never imports the CLI or the web app."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "formcheck"
HEAVY = ("cv2", "mediapipe", "click", "starlette", "uvicorn", "scipy", "matplotlib")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def _modules(sub: str = "") -> list[Path]:
    return sorted((SRC / sub).rglob("*.py"))


@pytest.mark.parametrize(
    "module",
    [
        "formcheck.core.rules",
        "formcheck.core.judge",
        "formcheck.core.session",
        "formcheck.live.engine",
    ],
)
def test_importing_the_core_loads_nothing_heavy(module):
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{module} loads {out}"


def test_core_imports_only_numpy_the_stdlib_and_itself():
    for p in _modules("core"):
        for m in _imports(p):
            top = m.split(".")[0]
            assert top not in HEAVY or top == "scipy", (p.name, m)  # scipy: lazily, offline
            assert not m.startswith(
                (
                    "formcheck.pose",
                    "formcheck.sinks",
                    "formcheck.live",
                    "formcheck.batch",
                    "formcheck.review",
                    "formcheck.cli",
                    "formcheck.analysis",
                )
            ), (p, m)


def test_only_the_cli_imports_click_and_nothing_imports_the_cli():
    for p in _modules():
        rel = p.relative_to(SRC).as_posix()
        mods = _imports(p)
        if not rel.startswith("cli/"):
            assert "click" not in mods, rel
            assert not any(m.startswith("formcheck.cli") for m in mods) or rel == "__main__.py", rel


def test_the_library_does_not_import_the_web_app():
    for p in _modules():
        rel = p.relative_to(SRC).as_posix()
        if rel.startswith(("review/", "cli/")):
            continue
        assert not any(
            m.startswith(("formcheck.review", "starlette", "uvicorn")) for m in _imports(p)
        ), rel


def test_no_module_is_a_god_module():
    sizes = {p.relative_to(SRC).as_posix(): len(p.read_text().splitlines()) for p in _modules()}
    assert max(sizes.values()) <= 400, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]


def _depends_on(path: Path) -> set[str]:
    """formcheck modules ``path`` imports, at the top or inside functions (a lazy import is
    still a dependency), but not under ``if TYPE_CHECKING:``."""
    pkg = list(path.relative_to(SRC.parent).parent.parts)
    tree = ast.parse(path.read_text())
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for b in node.body
        for n in ast.walk(b)
    }
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package upwards
                base = ".".join(pkg[: len(pkg) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in out if m.startswith("formcheck")}


def test_no_import_circle():
    names = {}
    for p in _modules():
        parts = list(p.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = p
    graph = {m: {d for d in _depends_on(p) if d in names and d != m} for m, p in names.items()}
    # a package's __init__ importing its own modules is not a circle through the package
    for m in graph:
        graph[m] = {d for d in graph[m] if not m.startswith(d + ".")}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in graph[m]:
            if state.get(d) == 1:
                raise AssertionError(" -> ".join(path[path.index(d) :] + [d]))
            if d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])

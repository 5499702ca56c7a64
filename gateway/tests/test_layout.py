"""The gateway's layout rules (CONVENTIONS.md): no import cycle among its modules, none over 500 lines."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

GATEWAY = Path(__file__).resolve().parents[1]
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    out = {}
    for path in GATEWAY.rglob("*.py"):
        parts = path.relative_to(GATEWAY.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every gateway module ``name`` imports, at the top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            targets = [base, *(f"{base}.{a.name}" for a in node.names)]
        else:
            continue
        for target in targets:
            if target in known and target != name:
                found.add(target)
                # importing a.b.c runs a.b's __init__ first: an edge to each package above the
                # target that is not also above the importer (those are initialised already)
                parts = target.split(".")
                for i in range(1, len(parts)):
                    pkg = ".".join(parts[:i])
                    if pkg in known and not (name + ".").startswith(pkg + "."):
                        found.add(pkg)
    return found


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    path, on_path = [start], {start}

    def walk(node: str) -> list[str] | None:
        for nxt in sorted(graph[node]):
            if nxt == start:
                return [*path, start]
            if nxt not in on_path:
                path.append(nxt)
                on_path.add(nxt)
                found = walk(nxt)
                if found:
                    return found
                on_path.discard(path.pop())
        return None

    return walk(start)


def test_no_gateway_module_imports_itself_back():
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    cycles = [c for name in sorted(graph) if (c := _cycle_from(name, graph))]
    assert cycles == []


def test_every_gateway_module_imports_on_its_own():
    """Each module imported first, in a fresh set of gateway modules: a cycle through a package's
    __init__ fails here even when the static graph misses it."""
    names = sorted(n for n in _modules() if ".tests" not in n)
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'gateway' or m.startswith('gateway.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=GATEWAY.parent, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_no_gateway_module_is_over_500_lines():
    long = {
        str(path.relative_to(GATEWAY)): n
        for path in GATEWAY.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}

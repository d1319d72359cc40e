"""The module boundaries of STYLE.md and issue 11, read from the source with `ast` (nothing is
imported): domain code loads no I/O library, alerts and reporting read scoring only through its
published read model and reporting reads alerts only through theirs, no module grows past 500
lines and no import cycle closes.

"Load time" imports are the ones a module runs when it is imported: every import statement
outside a function body (which runs only when called) and an `if TYPE_CHECKING:` block."""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
PACKAGES: Final = ("services", "shared")
# The pure core: KPI maths, calendars, windows, scoring, grading, alert rules (STYLE.md rule 1).
DOMAIN: Final = ("services.*.domain", "shared.kpi", "shared.watermarks")
IO_LIBRARIES: Final = frozenset(
    {"faststream", "aiokafka", "pymongo", "httpx", "uvicorn", "starlette", "prometheus_client"}
)
SCORING: Final = "services.scoring"
SCORING_READ_MODEL: Final = "services.scoring.read_model"
SCORING_READERS: Final = ("services.alerts", "services.reporting")
ALERTS: Final = "services.alerts"
ALERTS_READ_MODEL: Final = "services.alerts.read_model"
ALERTS_READERS: Final = ("services.reporting",)
MAX_LINES: Final = 500
# A file written by a tool says so on its first line; it is exempt from the length limit.
GENERATED_MARK: Final = "# generated"


@dataclass(frozen=True, slots=True)
class Import:
    """One imported name, resolved to the module it loads (`from a import b` is `a.b` when `b`
    is a module of the tree, else `a`)."""

    target: str
    line: int
    at_load_time: bool


@dataclass(frozen=True, slots=True)
class Module:
    name: str
    path: Path
    source: str
    imports: tuple[Import, ...]


def scan(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Module]:
    """Every module under `packages` of `root`, by dotted name, with its imports resolved."""
    paths: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            paths[name] = path
    modules = {}
    for name, path in paths.items():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imports = tuple(_imports(tree.body, package, set(paths), at_load_time=True))
        modules[name] = Module(name, path, source, imports)
    return modules


def _imports(
    body: list[ast.stmt], package: str, known: set[str], *, at_load_time: bool
) -> Iterator[Import]:
    for node in body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno, at_load_time)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                yield Import(child if child in known else base, node.lineno, at_load_time)
        # A function body runs when called; an `if TYPE_CHECKING:` block, never.
        deferred = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or (
            isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        )
        for child_body in _bodies(node):
            yield from _imports(
                child_body, package, known, at_load_time=at_load_time and not deferred
            )


def _bodies(node: ast.stmt) -> Iterator[list[ast.stmt]]:
    for field in ("body", "orelse", "finalbody"):
        value = getattr(node, field, None)
        if isinstance(value, list) and all(isinstance(item, ast.stmt) for item in value):
            yield value
    for handler in getattr(node, "handlers", []):
        yield handler.body
    for case in getattr(node, "cases", []):
        yield case.body


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _parents(name: str) -> list[str]:
    """The packages Python imports before `name`: `a` and `a.b` for `a.b.c`."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def loaded_with(modules: dict[str, Module], start: str) -> dict[str, list[str]]:
    """Every module of the tree and library that importing `start` loads, each with the chain
    of imports that brings it in."""
    chains: dict[str, list[str]] = {start: [start]}
    pending = [start]
    while pending:
        current = pending.pop()
        for imported in modules[current].imports:
            if not imported.at_load_time:
                continue
            for target in [*_parents(imported.target), imported.target]:
                if target not in chains:
                    chains[target] = [*chains[current], target]
                    if target in modules:
                        pending.append(target)
    return chains


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """The groups of modules that import each other at load time (Tarjan's strongly connected
    components of more than one module, or one that imports itself)."""
    graph = {
        name: sorted({i.target for i in module.imports if i.at_load_time and i.target in modules})
        for name, module in modules.items()
    }
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = lowest[name] = len(index)
        stack.append(name)
        for target in graph[name]:
            if target not in index:
                visit(target)
                lowest[name] = min(lowest[name], lowest[target])
            elif target in stack:
                lowest[name] = min(lowest[name], index[target])
        if lowest[name] == index[name]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == name:
                    break
            if len(group) > 1 or name in graph[name]:
                found.append(sorted(group))

    for name in graph:
        if name not in index:
            visit(name)
    return sorted(found)


def _in(name: str, pattern: str) -> bool:
    """Whether module `name` is `pattern` or inside it; `*` stands for one name part."""
    parts, wanted = name.split("."), pattern.split(".")
    return len(parts) >= len(wanted) and all(
        w in ("*", p) for w, p in zip(wanted, parts, strict=False)
    )


def _line_count(module: Module) -> int:
    return len(module.source.splitlines())


MODULES: Final = scan(ROOT)
DOMAIN_MODULES: Final = sorted(m for m in MODULES if any(_in(m, p) for p in DOMAIN))


def test_the_domain_is_where_it_is_expected() -> None:
    assert "shared.watermarks" in DOMAIN_MODULES
    for pattern in DOMAIN:
        assert any(_in(m, pattern) for m in DOMAIN_MODULES), f"no module matches {pattern}"


@pytest.mark.parametrize("name", DOMAIN_MODULES)
def test_domain_module_loads_no_io_library(name: str) -> None:
    """Neither directly nor through a module of the tree it imports (reading YAML through
    shared.config.loading is fine: files are not servers)."""
    found = {
        target: chain
        for target, chain in loaded_with(MODULES, name).items()
        if target.partition(".")[0] in IO_LIBRARIES
    }
    direct = [
        f"line {i.line}: {i.target}"
        for i in MODULES[name].imports
        if i.target.partition(".")[0] in IO_LIBRARIES
    ]
    assert not direct, f"{name} imports an I/O library: {direct}"
    assert not found, f"{name} loads an I/O library: " + "; ".join(
        " -> ".join(chain) for chain in found.values()
    )


def test_alerts_and_reporting_read_scoring_only_through_its_read_model() -> None:
    reaching = [
        f"{module.path.relative_to(ROOT)}:{i.line} imports {i.target}"
        for name, module in MODULES.items()
        if any(_in(name, reader) for reader in SCORING_READERS)
        for i in module.imports
        if _in(i.target, SCORING) and not _in(i.target, SCORING_READ_MODEL)
    ]
    assert not reaching, "alerts and reporting may import only services.scoring.read_model:\n" + (
        "\n".join(reaching)
    )


def test_reporting_reads_alerts_only_through_its_read_model() -> None:
    reaching = [
        f"{module.path.relative_to(ROOT)}:{i.line} imports {i.target}"
        for name, module in MODULES.items()
        if any(_in(name, reader) for reader in ALERTS_READERS)
        for i in module.imports
        if _in(i.target, ALERTS) and not _in(i.target, ALERTS_READ_MODEL)
    ]
    assert not reaching, "reporting may import only services.alerts.read_model:\n" + (
        "\n".join(reaching)
    )


def test_no_module_is_longer_than_500_lines() -> None:
    long = {
        str(module.path.relative_to(ROOT)): _line_count(module)
        for module in MODULES.values()
        if _line_count(module) > MAX_LINES and not module.source.lower().startswith(GENERATED_MARK)
    }
    assert not long, f"modules past {MAX_LINES} lines; split them by what they hold: {long}"


def test_no_two_modules_import_each_other() -> None:
    found = cycles(MODULES)
    assert not found, "modules that import each other at load time: " + "; ".join(
        " <-> ".join(group) for group in found
    )


# --- the checks see what they look for, on a made-up tree ------------------------------------


def _write(root: Path, files: dict[str, str]) -> dict[str, Module]:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return scan(root, ("pkg",))


def test_imports_resolve_relative_names_and_tell_load_time_from_call_time(
    tmp_path: Path,
) -> None:
    modules = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a/__init__.py": "from .b import thing\n",
            "pkg/a/b.py": "import pymongo\nfrom .. import c\n\ndef f():\n    import httpx\n",
            "pkg/c.py": (
                "from typing import TYPE_CHECKING\n\nif True:\n    from pkg.a import b\n"
                "if TYPE_CHECKING:\n    import faststream\n"
            ),
        },
    )

    assert {(i.target, i.at_load_time) for i in modules["pkg.a.b"].imports} == {
        ("pymongo", True),
        ("pkg.c", True),
        ("httpx", False),
    }
    assert [i.target for i in modules["pkg.a"].imports] == ["pkg.a.b"]
    assert {(i.target, i.at_load_time) for i in modules["pkg.c"].imports} == {
        ("typing", True),
        ("pkg.a.b", True),
        ("faststream", False),
    }
    chains = loaded_with(modules, "pkg.a")
    assert chains["pymongo"] == ["pkg.a", "pkg.a.b", "pymongo"]
    assert "httpx" not in chains
    assert cycles(modules) == [["pkg.a.b", "pkg.c"]]


def test_an_import_inside_a_function_closes_no_cycle(tmp_path: Path) -> None:
    modules = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/x.py": "from pkg import y\n",
            "pkg/y.py": "def late():\n    from pkg import x\n",
        },
    )

    assert cycles(modules) == []
    assert _in("services.alerts.domain.rules", "services.*.domain")
    assert not _in("services.alerts.app", "services.*.domain")

"""The layering rules hold: the core stays pure, nobody but the settings reads the environment,
and no first-party module imports itself back through others; SQL lives only in the
repositories (and the database plumbing); the compute stage does no I/O.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_CORE = (
    "discord",
    "aiohttp.web",
    "bot",
    "web",
    "soundsync_cli",
    "soundsync_fakes",
    "soundsync_bench",
    "soundsync_synthetic",
)


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            if node.module == "aiohttp":
                yield from (f"aiohttp.{alias.name}" for alias in node.names)


# Where SQL may be written: one repository module per table group, and the database plumbing
# (migrations, pool, embedded server).
SQL_HOMES = ("soundsync_core/repositories/", "soundsync_core/db/")
SQL_CHECKED = (
    "soundsync_core", "bot", "web", "soundsync_cli", "soundsync_bench", "soundsync_synthetic",
    "soundsync_fakes",
)
SQL_ALLOWED = {
    # Checks that the benchmark's own database holds the requested dataset and picks the
    # members who ask; no product code needs these reads.
    "soundsync_bench/matches_latency.py",
}
# A string literal that starts like a SQL statement (any case); English sentences such as
# "Select a member", "Delete everything" or "Update your settings" do not match.
SQL_STATEMENT = re.compile(
    r"""^\s*(?:
        SELECT\s+(?:\*|DISTINCT\b|EXISTS\b|\d|\$\d|[\w.]+\s*(?:,|\(|::|\bFROM\b|\bAS\b|\bIS\b|$))
      | INSERT\s+INTO\b
      | UPDATE\s+[\w.]+\s+SET\b
      | DELETE\s+FROM\b
      | WITH\s+(?:RECURSIVE\s+)?\w+\s+AS\s*(?:NOT\s+)?(?:MATERIALIZED\s*)?\(
      | COPY\s+[\w.]+\s*(?:\([^)]*\)\s*)?(?:FROM|TO)\s+(?:STDIN|STDOUT|PROGRAM|')
      | CREATE\s+(?:TABLE|INDEX|UNIQUE|VIEW|MATERIALIZED|DATABASE|SCHEMA|EXTENSION|FUNCTION
                   |TEMP|TEMPORARY|OR\s+REPLACE)\b
      | DROP\s+(?:TABLE|INDEX|VIEW|DATABASE|SCHEMA|FUNCTION)\b
      | ALTER\s+TABLE\b
      | TRUNCATE\s+TABLE\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def _docstrings(tree: ast.AST) -> set[int]:
    owners = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, owners) and node.body and isinstance(node.body[0], ast.Expr)
    }


def _sql_literals(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal (or f-string's leading text) that is SQL."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):
            skip.update(id(part) for part in node.values)  # the f-string is judged as a whole
            text = node.values[0].value if node.values and isinstance(node.values[0], ast.Constant) else ""
        elif isinstance(node, ast.Constant):
            text = node.value
        else:
            continue
        if isinstance(text, str) and SQL_STATEMENT.match(text):
            yield node.lineno, " ".join(text.split())[:60]


def _forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN_IN_CORE)


def test_core_never_imports_discord_aiohttp_web_bot_web_or_the_tools() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "soundsync_core").rglob("*.py")
        for module in _imports(path)
        if _forbidden(module)
    ]
    assert offenders == []


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = []
    # The fakes included: SOUNDSYNC_FAKE_LOG reaches them through the settings too.
    folders = ("soundsync_core", "soundsync_cli", "bot", "web", "soundsync_fakes", "soundsync_bench",
               "soundsync_synthetic")
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "settings.py" and folder == "soundsync_core":
                continue
            text = path.read_text(encoding="utf-8")
            if "os.environ" in text or "os.getenv" in text:
                readers.append(str(path.relative_to(ROOT)))
    assert readers == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from aiohttp import web\nimport discord.ext.commands\n")
    assert [m for m in _imports(sample) if _forbidden(m)] == ["aiohttp.web", "discord.ext.commands"]


def _first_party() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["ruff"]["lint"]["isort"]["known-first-party"]


def _modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    modules = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imported_names(module: str, path: Path) -> Iterator[str]:
    """Every name ``module`` imports, wherever the statement is (under ``if TYPE_CHECKING:``, in a
    function): ``from a import b`` gives ``a.b``, which is module ``a.b`` or a name in ``a``.
    """
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        graph[module] = set()
        for name in _imported_names(module, path):
            while name and name not in modules:  # the longest first-party module the name is in
                name = name.rpartition(".")[0]
            if name:
                graph[module].add(name)
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def import_cycles(root: Path, packages: Iterable[str]) -> list[list[str]]:
    """The strongly connected groups of modules that import each other (a self-import included)."""
    graph = _import_graph(_modules(root, packages))
    reach = {module: _reachable(graph, module) for module in graph}
    cycles: list[list[str]] = []
    for module in sorted(graph):
        group = sorted(other for other in reach[module] if module in reach[other])
        if module in group and group not in cycles:
            cycles.append(group)
    return cycles


def test_no_first_party_module_imports_itself_back() -> None:
    assert import_cycles(ROOT, _first_party()) == []


def test_the_cycle_checker_sees_every_kind_of_import(tmp_path: Path) -> None:
    files = {
        "__init__.py": "",
        "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from planted.sub import b\n",
        "sub/__init__.py": "",
        "sub/b.py": "def late():\n    from .. import c\n",
        "c.py": "from . import a\n",
        "selfish.py": "import planted.selfish\n",
        "leaf.py": "import planted.a\nfrom planted.sub.b import late\n",
    }
    for name, text in files.items():
        path = tmp_path / "planted" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert import_cycles(tmp_path, ["planted"]) == [
        ["planted.a", "planted.c", "planted.sub.b"], ["planted.selfish"],
    ]


def test_sql_lives_only_in_repositories_and_the_database_plumbing() -> None:
    offenders = [
        f"{relative}:{line}: {text}"
        for folder in SQL_CHECKED
        for path in sorted((ROOT / folder).rglob("*.py"))
        if not (relative := path.relative_to(ROOT).as_posix()).startswith(SQL_HOMES)
        and relative not in SQL_ALLOWED
        for line, text in _sql_literals(path)
    ]
    assert offenders == []


def test_the_sql_allow_list_names_files_that_still_need_it() -> None:
    assert all(list(_sql_literals(ROOT / relative)) for relative in SQL_ALLOWED)


def test_the_checker_sees_sql_and_not_english(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Select the members: this docstring is prose."""\n'
        "async def members(conn, guild):\n"
        '    """Delete from the list whoever left."""\n'
        '    label = "Delete everything"\n'
        '    hint = "Select a member from the list"\n'
        '    await conn.execute("update members set weekly_dm = false")\n'
        '    return await conn.fetch(f"""SELECT user_id FROM guild_members WHERE guild_id = {guild}""")\n'
    )
    assert [line for line, _ in _sql_literals(sample)] == [6, 7]


def test_the_compute_stage_imports_no_repository() -> None:
    compute = ROOT / "soundsync_core" / "services" / "run_compute.py"
    assert [m for m in _imports(compute) if m.startswith("soundsync_core.repositories")] == []

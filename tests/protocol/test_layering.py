"""STYLE.md "Layers" and "Dependencies between apps": imports run one way, followed transitively.

Every import in the project's modules is read from the source (at module level, inside functions
and under ``TYPE_CHECKING`` alike), and the graph is followed through the project's own modules:

- ``tokens/protocol/`` is plain Python: nothing it reaches, however indirectly, is Django, DRF or
  another part of the project;
- below it all, ``cluster`` (shared cache, announcements), then ``audit``, ``clients``, ``tokens``;
  on top the views, admin modules, management commands and the ``portal``, ``api`` and
  ``oauthserver`` packages. Nothing reaches a module of a higher layer;
- no module reaches itself: no import circle, not even one that works through a late import;
- ``resource_server``, which API projects import without the server's apps installed, reaches
  nothing of the server but ``tokens.protocol`` and ``tokens.exceptions``, save through its
  database mode, which ``resource_server.modes`` imports only when that mode is configured.

Migrations are left out: a migration is a frozen copy of history and may call any app's code.
"""

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cluster", "audit", "clients", "tokens", "portal", "api", "oauthserver", "resource_server")
FRAMEWORKS = {"django", "rest_framework"}

# Lower layers first; a module may import its own layer and those below it.
PROTOCOL, CLUSTER, AUDIT, CLIENTS, TOKENS, TOP = range(6)
LAYER_NAMES = ["tokens.protocol", "cluster", "audit", "clients", "tokens", "views, admin, commands, portal, api"]
# What every app's top modules are called: they serve requests or operators, nothing imports them
# but other top modules.
TOP_MODULE_NAMES = {"admin", "views", "urls", "apps", "openapi"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[module_name(path)] = path
    return modules


MODULES = project_modules()


def layer(name: str) -> int:
    parts = name.split(".")
    if name.startswith("tokens.protocol"):
        return PROTOCOL
    if parts[0] in ("portal", "api", "oauthserver", "resource_server") or "management" in parts:
        return TOP
    last = parts[-1]
    if last in TOP_MODULE_NAMES or last.startswith("admin_"):
        return TOP
    return {"cluster": CLUSTER, "audit": AUDIT, "clients": CLIENTS, "tokens": TOKENS}[parts[0]]


def imported_names(name: str) -> set[str]:
    """Every module name an import statement in module name mentions (absolute, dotted)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # "from pkg import module"
    return found


@cache
def direct_imports(name: str) -> frozenset[str]:
    """The project modules and the frameworks (as "django", "rest_framework") that name imports."""
    result = set()
    for imported in imported_names(name):
        top = imported.split(".")[0]
        if top in FRAMEWORKS:
            result.add(top)
        elif imported in MODULES:
            result.add(imported)
    return frozenset(result - {name})


def reachable(name: str, *, leaving_out: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """Everything name imports, directly or not, each with one import chain that leads to it.

    Modules in leaving_out are not followed (nor listed).
    """
    chains: dict[str, list[str]] = {}
    todo = [(name, [name])]
    while todo:
        current, chain = todo.pop()
        if current in FRAMEWORKS:
            continue
        for imported in direct_imports(current) - leaving_out:
            if imported not in chains:
                chains[imported] = [*chain, imported]
                todo.append((imported, chains[imported]))
    return chains


def test_the_graph_sees_the_project():
    # Guards the test itself: were module discovery or import resolution broken, the graph would be
    # empty and every check below would pass.
    assert {"tokens.protocol.grants", "clients.services", "tokens.services", "audit.services"} <= set(MODULES)
    assert "tokens.protocol.grants" in reachable("tokens.services")
    assert "audit.models" in reachable("clients.services")
    assert "django" in reachable("clients.models")


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) == PROTOCOL))
def test_protocol_modules_reach_no_framework_and_no_app(name):
    reached = reachable(name)
    outside = sorted(m for m in reached if m in FRAMEWORKS or (m in MODULES and layer(m) != PROTOCOL))
    assert not outside, f"{name} reaches {outside[0]} through {' -> '.join(reached[outside[0]])}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_reaches_a_higher_layer(name):
    reached = reachable(name)
    upward = sorted(m for m in reached if m in MODULES and layer(m) > layer(name))
    assert not upward, (
        f"{name} ({LAYER_NAMES[layer(name)]}) reaches {upward[0]} ({LAYER_NAMES[layer(upward[0])]}) "
        f"through {' -> '.join(reached[upward[0]])}"
    )


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_part_of_an_import_circle(name):
    reached = reachable(name)
    assert name not in reached, f"import circle: {' -> '.join(reached[name])}"


def test_the_app_graph_runs_one_way():
    below_top = {name for name in MODULES if layer(name) != TOP}
    edges = {
        (name.split(".")[0], imported.split(".")[0])
        for name in below_top
        for imported in direct_imports(name)
        if imported in MODULES and imported.split(".")[0] != name.split(".")[0]
    }
    allowed = {
        ("audit", "cluster"),
        ("audit", "tokens"),  # tokens.protocol only: checked module by module above
        ("clients", "cluster"), ("clients", "audit"), ("clients", "tokens"),
        ("tokens", "cluster"), ("tokens", "audit"), ("tokens", "clients"),
    }
    assert edges <= allowed, f"unexpected dependencies between apps: {sorted(edges - allowed)}"


# What API projects import without the server's apps: plain protocol code and the error rendering.
RESOURCE_SERVER_MAY_REACH = {"tokens", "tokens.exceptions"}
DATABASE_MODE = "resource_server.database"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.split(".")[0] == "resource_server" and n != DATABASE_MODE))
def test_the_resource_server_reaches_no_server_module_but_through_its_database_mode(name):
    reached = reachable(name, leaving_out=frozenset({DATABASE_MODE}))
    server = sorted(
        m for m in reached
        if m in MODULES and m.split(".")[0] != "resource_server" and layer(m) != PROTOCOL and m not in RESOURCE_SERVER_MAY_REACH
    )
    assert not server, f"{name} reaches {server[0]} through {' -> '.join(reached[server[0]])}"


def test_the_database_mode_is_imported_only_inside_a_function():
    for name in (n for n in MODULES if n.split(".")[0] == "resource_server"):
        tree = ast.parse(MODULES[name].read_text())
        top_level = {
            alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
            for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names
        }
        assert not any(imported.endswith("database.DatabaseVerifier") or imported == DATABASE_MODE for imported in top_level), name
    assert DATABASE_MODE in reachable("resource_server.modes")  # the guard above can fail: the import exists

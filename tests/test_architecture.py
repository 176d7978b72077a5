"""The layout shows the architecture (CONTRIBUTING.md): checks that keep it so.

* No module-level import cycle inside `portfolio/` (a package's `__init__` importing its
  own view modules to register their routes is the blueprint idiom and allowed).
* Every blueprint is created in its package's `__init__.py`.
* Features do not look each other up at run time: links are plain `url_for`.
* One owner of the transaction (portfolio/transaction.py): nobody else commits, and every
  POST form carries the submission key that makes a replayed submission count once.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "portfolio"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def _top_level_imports(path: Path) -> list[ast.stmt]:
    """Import statements that run when the module is imported (not inside functions)."""
    found = []
    todo = list(ast.parse(path.read_text()).body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for part in ("body", "orelse", "finalbody", "handlers"):
                todo.extend(getattr(node, part, []) or [])
        elif isinstance(node, ast.ExceptHandler):
            todo.extend(node.body)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        is_package = path.name == "__init__.py"
        package = mod if is_package else mod.rpartition(".")[0]
        for node in _top_level_imports(path):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                targets = [
                    f"{origin}.{a.name}" if f"{origin}.{a.name}" in mods else origin
                    for a in node.names
                ]
            for target in targets:
                found = _resolve(target, mods) if target.startswith("portfolio") else None
                if not found or found == mod:
                    continue
                if is_package and found.startswith(mod + "."):
                    continue  # the package registers its own modules (blueprint idiom)
                graph[mod].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return result


def test_no_import_cycles_inside_the_package():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_blueprints_are_created_in_their_package_init():
    places = [
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*.py")
        if re.search(r"^\w+ = Blueprint\(", path.read_text(), re.M)
    ]
    assert places and all(p.endswith("/__init__.py") for p in places), places


def test_no_feature_detection_at_run_time():
    pattern = re.compile(r"url_exists|view_functions|except ImportError|record_once")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for base, glob in ((PACKAGE, "*.py"), (ROOT / "templates", "*.html"))
        for path in base.rglob(glob)
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []


# -- one display model, one renderer ---------------------------------------------------------
def _reads_kind_fields(path: Path) -> bool:
    """The module imports portfolio.kinds and reads the description of a kind's fields
    (to build something from it)."""
    tree = ast.parse(path.read_text())
    imports_kinds = any(
        (isinstance(node, ast.ImportFrom) and node.module == "portfolio.kinds")
        or (
            isinstance(node, ast.ImportFrom)
            and node.module == "portfolio"
            and any(a.name == "kinds" for a in node.names)
        )
        for node in ast.walk(tree)
    )
    if not imports_kinds:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("fields", "item_label", "prompt"):
            return True
        if isinstance(node, ast.Name) and node.id == "AGREEMENT_FIELDS":
            return True
    return False


def test_one_module_turns_an_entry_into_what_is_shown():
    """Besides kinds.py (the description) and the edit forms, exactly one module reads a
    kind's fields: portfolio/display.py. Pages, staff views, guardian pages and PDFs all
    get an entry's display model from there (issue 13, item 2)."""
    readers = sorted(
        name
        for name, path in _modules().items()
        if name != "portfolio.kinds" and not name.endswith(".forms") and _reads_kind_fields(path)
    )
    assert readers == ["portfolio.display"]
    defines = [
        name
        for name, path in _modules().items()
        if re.search(r"^def text_direction\(", path.read_text(), re.M)
    ]
    assert defines == ["portfolio.display"]


def test_one_macro_file_renders_entries():
    """Only templates/macros/display.html holds the markup of portfolio content; every
    template that builds a display model hands it to that file's macros."""
    templates = ROOT / "templates"
    markup = sorted(
        p.relative_to(templates).as_posix()
        for p in templates.rglob("*.html")
        if "bwp-display__" in p.read_text()
    )
    assert markup == ["macros/display.html"]
    builders = [
        p
        for p in templates.rglob("*.html")
        if re.search(r"\b(entry|agreement|guidance)_view\(", p.read_text())
    ]
    assert len(builders) >= 8  # pupil, staff, guardian, agreement, guidance pages and PDFs
    for path in builders:
        assert 'import "macros/display.html" as show' in path.read_text(), path
    for gone in (
        "macros/entry.html",
        "guardian/_entry.html",
        "pdf/_macros.html",
        "guidance/_macros.html",
    ):
        assert not (templates / gone).exists(), gone


#: The one module that calls `.commit()`: the request's one COMMIT, and `atomic()` for
#: CLI commands, seeds and workers.
COMMITTERS = {"portfolio/transaction.py"}


def test_only_the_transaction_module_commits():
    offenders = [
        f"{path.relative_to(ROOT).as_posix()}:{node.lineno}"
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts and path.relative_to(ROOT).as_posix() not in COMMITTERS
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]
    assert offenders == [], "services flush, the request commits (portfolio/transaction.py)"


def _post_forms(html: str) -> list[tuple[str, str]]:
    """(opening tag, body) of every <form method="post"> in a template."""
    found = []
    for match in re.finditer(r"<form\b[^>]*>", html, re.I):
        if re.search(r"method=\"?post", match.group(0), re.I):
            end = html.find("</form>", match.end())
            found.append((match.group(0), html[match.end() : end]))
    return found


def test_every_post_form_carries_csrf_token_and_submission_key():
    """The csrf() macro of templates/macros/forms.html renders both; hand-written tokens
    (form.csrf_token, form.hidden_tag()) would leave the submission key out."""
    missing = [
        f"{path.relative_to(ROOT).as_posix()}: {tag}"
        for path in (ROOT / "templates").rglob("*.html")
        for tag, body in _post_forms(path.read_text())
        if "{{ csrf(" not in body
    ]
    by_hand = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "templates").rglob("*.html")
        if re.search(r"\.csrf_token \}\}|hidden_tag\(\)", path.read_text())
    ]
    assert missing == [] and by_hand == []
    assert _post_forms('<form method="post"><input></form>') == [
        ('<form method="post">', "<input>")
    ]


#: A script sending data: fetch(..., {method: "POST"}), XMLHttpRequest.open("POST"), beacons.
_SENDS = re.compile(
    r"method\s*:\s*[\"'](?:POST|PUT|PATCH|DELETE)[\"']"
    r"|\.open\(\s*[\"'](?:POST|PUT|PATCH|DELETE)[\"']|sendBeacon",
    re.I,
)


def test_scripts_post_only_whole_forms():
    """A script that sends a form sends all of it (new FormData(form)), so the submission
    key and the CSRF token go along; no script builds a request body of its own. Reading
    (fetch of JSON, e.g. a job's progress) is not sending."""
    offenders = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "static" / "js").rglob("*.js")
        if _SENDS.search(path.read_text()) and "new FormData(" not in path.read_text()
    ]
    assert offenders == []
    assert _SENDS.search('fetch(url, { method: "POST", body: data })')
    assert not _SENDS.search('fetch(url, { headers: { Accept: "application/json" } })')

"""Nothing outside a task type's own files branches on a task type's name (issue 9, STYLE.md).

The source (``.py``, ``.html``, ``.js``) outside ``annotate/tasktypes/<type>/``,
``templates/annotate/tasktypes/``, ``templates/analysis/review/<type>.html``,
``static/js/<type>.js``, ``static/css/<type>.css``, migrations and tests is read for the task
types' names used as string literals where code decides by them:

- Python (read with ``ast``, so docstrings and comments never count): a name compared
  (``== "tom"``, ``in ("tom", ...)``), used as a dict key, listed in a set, list or tuple, or
  matched in a ``case``. A name passed as an argument (``get_task_type("tom")``, or
  ``task_type="tom"`` when a benchmark makes a project of that type) is a use, not a branch, and
  the registry's ``register(...)`` lines name classes, not strings.
- Templates and scripts: a name compared (``== "tom"``, ``'tom' ===``) or used as an object key.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from annotate.tasktypes import task_types

ROOT = Path(__file__).resolve().parents[1]
# The project's own source; not tests, vendored files, or the environment.
SOURCE_ROOTS = (
    "analysis",
    "annotate",
    "bench",
    "config",
    "core",
    "models_runtime",
    "static",
    "stats",
    "templates",
    "manage.py",
)
SKIPPED_DIRS = {"migrations", "vendor", "__pycache__", "node_modules"}

# Files allowed to name a type for a stated reason (none today). The last test below fails once a
# file listed here is clean, so the list never outlives its reason.
ALLOWLIST: set[str] = set()


def type_names() -> set[str]:
    return {plugin.name for plugin in task_types()}


def owned_by_a_type(relative: str, names: set[str]) -> bool:
    """Whether a file is one of a task type's own (where its name may be used freely)."""
    path = Path(relative)
    parts = path.parts
    if "tests" in parts[:1] or "migrations" in parts:
        return True
    if parts[:2] == ("annotate", "tasktypes") and len(parts) > 3 and parts[2] in names:
        return True
    if parts[:3] == ("templates", "annotate", "tasktypes"):
        return True
    if parts[:3] == ("templates", "analysis", "review") and path.stem in names:
        return True
    return parts[:2] in {("static", "js"), ("static", "css")} and path.stem in names


def python_places(source: str, names: set[str]) -> list[tuple[int, str]]:
    """``(line, name)`` for each type name a Python module decides by."""
    tree = ast.parse(source)
    places = []

    def named(node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Constant) and node.value in names:
            return str(node.value)
        return None

    def collected(node: ast.AST) -> list[ast.AST]:
        if isinstance(node, ast.Set | ast.List | ast.Tuple):
            return list(node.elts)
        return [node]

    for node in ast.walk(tree):
        candidates: list[ast.AST | None] = []
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                candidates += collected(operand)
        elif isinstance(node, ast.Dict):
            candidates += node.keys
        elif isinstance(node, ast.Set | ast.List | ast.Tuple):
            candidates += node.elts
        elif isinstance(node, ast.MatchValue):
            candidates.append(node.value)
        for candidate in candidates:
            name = named(candidate)
            if name is not None and candidate is not None:
                places.append((candidate.lineno, name))  # type: ignore[attr-defined]
    return sorted(set(places))


def markup_places(source: str, names: set[str]) -> list[tuple[int, str]]:
    """``(line, name)`` for each type name a template or script compares or uses as a key."""
    alternatives = "|".join(re.escape(name) for name in sorted(names))
    quoted = rf"""(?P<q>["'])(?P<name>{alternatives})(?P=q)"""
    patterns = [
        re.compile(rf"(?:==|!=)=?\s*{quoted}"),
        re.compile(rf"{quoted}\s*(?:==|!=)"),
        re.compile(rf"{quoted}\s*:(?!:)"),
    ]
    places = []
    for number, line in enumerate(source.splitlines(), start=1):
        for pattern in patterns:
            for match in pattern.finditer(line):
                places.append((number, match.group("name")))
    return sorted(set(places))


def source_files() -> list[Path]:
    files = []
    for entry in SOURCE_ROOTS:
        base = ROOT / entry
        candidates = [base] if base.is_file() else base.rglob("*")
        for path in candidates:
            if path.suffix not in {".py", ".html", ".js"} or not path.is_file():
                continue
            if SKIPPED_DIRS & set(path.relative_to(ROOT).parts):
                continue
            files.append(path)
    return sorted(files)


def places_by_file() -> dict[str, list[tuple[int, str]]]:
    names = type_names()
    found = {}
    for path in source_files():
        relative = path.relative_to(ROOT).as_posix()
        if owned_by_a_type(relative, names):
            continue
        source = path.read_text(encoding="utf-8")
        scan = python_places if path.suffix == ".py" else markup_places
        places = scan(source, names)
        if places:
            found[relative] = places
    return found


def test_no_code_outside_a_task_type_branches_on_its_name():
    found = {path: places for path, places in places_by_file().items() if path not in ALLOWLIST}
    listed = "\n".join(
        f"  {path}:{line}: {name!r}" for path, places in found.items() for line, name in places
    )
    assert not found, (
        "task type names decided on outside the types' own files (declare it on the task "
        f"type and render the declaration instead):\n{listed}"
    )


def test_the_allowlist_holds_only_files_that_still_need_it():
    found = places_by_file()
    stale = sorted(path for path in ALLOWLIST if path not in found)
    assert not stale, f"these files no longer branch on a type name; remove them: {stale}"


# --- the detector itself


NAMES = {"tom", "preference_pair"}


def test_python_comparisons_keys_collections_and_cases_count():
    source = """
if task_type == "tom":
    pass
if kind in ("preference_pair", "x"):
    pass
SUPPORTED = frozenset({"tom"})
MAPPING = {"preference_pair": 1}
match name:
    case "tom":
        pass
"""
    assert python_places(source, NAMES) == [
        (2, "tom"),
        (4, "preference_pair"),
        (6, "tom"),
        (7, "preference_pair"),
        (9, "tom"),
    ]


def test_python_docstrings_comments_arguments_and_registrations_do_not_count():
    source = '''
"""The tom type: "tom" and preference_pair."""
# if task_type == "tom":
register(Tom())
plugin = get_task_type("tom")
project = make(task_type="preference_pair")
label = "tomato" == kind
'''
    assert python_places(source, NAMES) == []


def test_template_and_script_comparisons_and_keys_count_but_prose_does_not():
    source = """{% if project.task_type == "tom" %}x{% endif %}
<p>A tom project</p>
if (type === 'preference_pair') {}
const keys = {"tom": 1};
{{ value|default:"tom" }}
"""
    assert markup_places(source, NAMES) == [(1, "tom"), (3, "preference_pair"), (4, "tom")]


def test_a_types_own_files_may_name_it():
    names = {"tom", "derailment"}
    assert owned_by_a_type("annotate/tasktypes/tom/plugin.py", names)
    assert owned_by_a_type("templates/annotate/tasktypes/tom.html", names)
    assert owned_by_a_type("templates/analysis/review/tom.html", names)
    assert owned_by_a_type("static/js/derailment.js", names)
    assert owned_by_a_type("static/css/tom.css", names)
    assert not owned_by_a_type("annotate/tasktypes/base.py", names)
    assert not owned_by_a_type("annotate/tasktypes/__init__.py", names)
    assert not owned_by_a_type("static/js/dashboard_review.js", names)
    assert not owned_by_a_type("models_runtime/backends/causal_lm.py", names)

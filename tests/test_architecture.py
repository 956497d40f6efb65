"""The one-way architecture of STYLE.md holds: import-linter's contracts (``.importlinter``) pass —
core → stats → annotate → models_runtime → analysis, no upward import even inside a function, and
no Django in ``stats`` — and no app module but its ``apps.py`` imports its own Celery tasks module
(the tasks call services; services enqueue by task name, so there is no cycle)."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--config", str(ROOT / ".importlinter")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " 0 broken" in result.stdout, result.stdout[-4000:]


def _imported_modules(path: Path, package: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x / from .x import y
                base = package if node.level == 1 else package.rsplit(".", node.level - 1)[0]
                module = f"{base}.{node.module}" if node.module else base
                found.add(module)
                found.update(f"{module}.{alias.name}" for alias in node.names)
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_module_imports_its_apps_celery_tasks_back():
    offenders = []
    for app in ("annotate", "models_runtime", "analysis"):
        for path in sorted((ROOT / app).rglob("*.py")):
            # apps.py imports the tasks once, in ready(), so that the worker registers them.
            if path.name in ("celery_tasks.py", "apps.py") or "migrations" in path.parts:
                continue
            package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
            if f"{app}.celery_tasks" in _imported_modules(path, package):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], f"modules importing their app's celery_tasks: {offenders}"

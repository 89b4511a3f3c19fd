"""``corruptions`` is a leaf library: it never imports ``robustness`` (issue 11, item 2).

``robustness`` builds on ``corruptions`` (the engine's in-memory sets, the builder on Slurm),
never the other way round. Two checks:

* statically, every import statement of every module of the ``corruptions`` package,
  including those inside functions, methods and ``if``/``try`` blocks, is read from the
  syntax tree; none may name ``robustness`` (``import robustness.x``, ``from robustness
  import x``, ``importlib.import_module("robustness...")``);
* dynamically, a fresh interpreter that imports ``corruptions``, corrupts an image with
  every registered corruption family and builds the ``python -m corruptions`` parser has no
  ``robustness`` module in ``sys.modules``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import corruptions

PACKAGE_DIR = Path(corruptions.__file__).resolve().parent
FORBIDDEN = "robustness"


def _modules() -> list[Path]:
    return sorted(PACKAGE_DIR.rglob("*.py"))


def _imported_names(path: Path) -> list[tuple[int, str]]:
    """(line, module name) of every import in the package module at ``path``."""
    package = ".".join(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    return _imports_in(path.read_text(), package, str(path))


def _imports_in(source: str, package: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, module name) of every import statement anywhere in ``source`` (functions,
    methods, ``try`` blocks included) and of ``import_module("...")``/``__import__("...")``
    calls with a literal name; relative imports are resolved against ``package``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__")):  # fmt: skip
            found.append((node.lineno, node.args[0].value))
    return found


def _is_forbidden(module: str) -> bool:
    return module == FORBIDDEN or module.startswith(FORBIDDEN + ".")


def test_the_walk_sees_imports_inside_functions_and_relative_ones():
    # the checker itself must find what it is meant to forbid, wherever it hides
    source = ("def f():\n    from robustness.executors import submit_build\n"
              "class C:\n    def g(self):\n        try:\n            import robustness.store as s\n"
              "        except ImportError:\n            pass\n"
              "def h():\n    import importlib\n    importlib.import_module('robustness.config')\n"
              "from . import base\nfrom ..params import weather\n")  # fmt: skip
    names = [m for _, m in _imports_in(source, "corruptions.batched")]
    assert sorted(n for n in names if _is_forbidden(n)) == ["robustness.config",
                                                            "robustness.executors",
                                                            "robustness.store"]  # fmt: skip
    assert "corruptions.batched" in names and "corruptions.params" in names
    assert not _is_forbidden("robustness_extra") and _is_forbidden("robustness")


def test_no_module_of_corruptions_imports_robustness():
    modules = _modules()
    assert len(modules) > 20, f"found only {len(modules)} modules under {PACKAGE_DIR}"
    offenders = [f"{path.relative_to(PACKAGE_DIR.parent)}:{line}: {module}"
                 for path in modules for line, module in _imported_names(path)
                 if _is_forbidden(module)]  # fmt: skip
    assert not offenders, "corruptions must not import robustness:\n" + "\n".join(offenders)


_FRESH = r"""
import json, sys
import numpy as np
import corruptions
from corruptions import corrupt, registry
from corruptions.cli import _parser
from corruptions.builder import parse_corruptions
image = np.random.RandomState(0).randint(0, 256, (64, 64, 3)).astype(np.uint8)
families = {}
for name, c in sorted(registry().items()):
    families.setdefault(c.family, name)
for name in [*families.values(), "frost"]:
    corrupt(image, name, 2, rng=np.random.RandomState(0),
            preset="imagenet" if registry()[name].family == "cbar" else "tiny-imagenet")
_parser().parse_args(["build", "src", "out"])
parse_corruptions("all")
print(json.dumps({"families": sorted(families), "loaded": sorted(m for m in sys.modules
                  if m == "robustness" or m.startswith("robustness."))}))
"""


def test_a_fresh_interpreter_using_corruptions_loads_no_robustness_module():
    done = subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True,
                          cwd=PACKAGE_DIR.parent, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(result["families"]) >= 6, result
    assert result["loaded"] == [], f"importing and using corruptions loaded {result['loaded']}"


# ------------------------------------------------------------------ benchmarks -> tests: never
REPO = PACKAGE_DIR.parent
BENCHMARKS = REPO / "benchmarks"


def test_no_benchmark_imports_test_code_or_puts_tests_on_the_path():
    scripts = sorted(BENCHMARKS.glob("*.py"))
    assert len(scripts) >= 3, scripts
    offenders = []
    for path in scripts:
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, module in _imports_in(path.read_text(), "benchmarks", str(path)):
            top = module.split(".")[0]
            if top in ("tests", "conftest", "pytest") or top.startswith("test_"):
                offenders.append(f"{path.name}:{line}: imports {module}")
        for node in ast.walk(tree):  # e.g. sys.path.insert(0, REPO / "tests" / "corruptions")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    node.value == "tests" or node.value.startswith("tests/")):
                offenders.append(f"{path.name}:{node.lineno}: names the tests folder")
    assert not offenders, "benchmarks must not use test code:\n" + "\n".join(offenders)


_BENCH = r"""
import json, runpy, sys
from pathlib import Path
repo = Path.cwd()
sys.path.insert(0, str(repo / "benchmarks"))  # what `python benchmarks/corruptions.py` has
ns = runpy.run_path(str(repo / "benchmarks" / "corruptions.py"), run_name="benchmark")
module, reason = ns["load_original"]()
images = ns["photographs"](1)
ns["time_numpy"](images, "gaussian_noise", 1, 1, 0.0)
if module is not None:
    ns["time_original"](module, images, "gaussian_noise", 1, 1, 0.0)
tests = str(repo / "tests")
loaded = sorted(name for name, m in list(sys.modules.items())
                if str(getattr(m, "__file__", None) or "").startswith(tests))
print(json.dumps({"reason": reason, "loaded": loaded, "original": module is not None}))
"""


def test_the_corruption_benchmark_runs_the_original_without_test_modules():
    done = subprocess.run([sys.executable, "-c", _BENCH], capture_output=True, text=True,
                          cwd=REPO, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == [], f"the benchmark loaded test modules {result['loaded']}"
    # without the oracle packages it says why; it never fails to find its own runner
    assert result["original"] or "benchmarks/reference.py" not in (result["reason"] or ""), result


def test_library_modules_hold_no_command_line_code():
    """argparse, sys.exit and SystemExit live in the CLI modules only (robustness/cli/,
    corruptions/cli.py and the ``__main__`` shims); library functions raise UserInputError."""
    root = Path(__file__).resolve().parents[1]
    allowed = {root / "corruptions" / "cli.py"}
    offenders = []
    for package in ("robustness", "corruptions"):
        for path in sorted((root / package).rglob("*.py")):
            if path in allowed or path.name == "__main__.py" or (root / "robustness" / "cli") in path.parents:
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                elif isinstance(node, ast.Attribute) and node.attr == "exit" and \
                        isinstance(node.value, ast.Name) and node.value.id == "sys":
                    names = ["sys.exit"]
                elif isinstance(node, ast.Name) and node.id == "SystemExit":
                    names = ["SystemExit"]
                if any(n in ("argparse", "sys.exit", "SystemExit") for n in names):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []

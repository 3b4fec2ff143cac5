"""The tree's promise: arrows point down only. Training never imports serving code, and the pipeline's stages
(data, model, decoding, charset, spec, config) import neither training, serving nor scoring."""
import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"
SHIMS = {"engine", "recognizer", "inference", "quantize", "schedule", "loss", "distributed", "metrics"}


def imported_modules(path: pathlib.Path) -> set:
    """Absolute ``src.…`` names of every module ``path`` imports at run time (``if TYPE_CHECKING`` left out)."""
    package = ["src", *path.relative_to(SRC).parent.parts]
    names = set()
    tree = ast.parse(path.read_text())
    type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                 and getattr(node.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names |= {module} | {f"{module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return {n for n in names if n.startswith("src")}


def modules_under(*folders: str):
    for folder in folders:
        yield from sorted((SRC / folder).rglob("*.py")) if (SRC / folder).is_dir() else [SRC / f"{folder}.py"]


def test_the_import_checker_sees_relative_and_absolute_imports(tmp_path):
    assert "src.serve.backends" in imported_modules(SRC / "serve" / "recognizer.py")
    assert "src.model.backend" in imported_modules(SRC / "evaluation" / "scoring.py")
    assert not any(m.startswith("src.train") for m in imported_modules(SRC / "utils.py"))  # TYPE_CHECKING only


@pytest.mark.parametrize("path", list(modules_under("train", "evaluation")), ids=lambda p: str(p.relative_to(SRC)))
def test_training_and_scoring_never_import_serving(path):
    assert not [m for m in imported_modules(path) if m.startswith("src.serve")]


@pytest.mark.parametrize("path", list(modules_under("data", "model", "decoding", "charset", "spec", "config",
                                                    "checkpoint", "errors", "cpu_env", "utils")),
                         ids=lambda p: str(p.relative_to(SRC)))
def test_the_pipeline_stages_import_nothing_above_them(path):
    above = ("src.train", "src.serve", "src.evaluation") + tuple(f"src.{s}" for s in SHIMS)
    assert not [m for m in imported_modules(path) if m.startswith(above)]

"""One render driver: only the effect (plugin/effect.py) runs the pipeline's stages; every host, the
review panel included, renders through it. Checked on the source of the installed package folders."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("core", "plugin", "ui", "training")
#: The pipeline's stage functions: whoever calls them drives a render.
STAGE_FUNCTIONS = frozenset({"prepare", "infer", "composite", "render_frame", "place", "plate_screen", "key_plate"})
DRIVER = ROOT / "plugin" / "effect.py"
ENGINE = ROOT / "core" / "pipeline"


def _is_pipeline(module: str) -> bool:
    """Whether an import's module (absolute or relative, dots stripped) is the pipeline or one of its modules."""
    parts = module.split(".")
    return "pipeline" in parts and parts[-1] in ("pipeline", "stages", "place", "plate")


def stage_uses(source: str) -> list[str]:
    """The pipeline stage functions that ``source`` imports or reaches through an imported module."""
    tree = ast.parse(source)
    modules: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                if _is_pipeline(module) and alias.name in STAGE_FUNCTIONS:
                    found.append(alias.name)
                elif _is_pipeline(f"{module}.{alias.name}"):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_pipeline(alias.name):
                    modules.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in STAGE_FUNCTIONS:
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and (root.id in modules or ast.unparse(node.value) in modules):
                found.append(node.attr)
    return found


def test_the_detector_sees_every_way_to_reach_a_stage() -> None:
    assert stage_uses("from changer.core.pipeline import prepare, FrameInputs") == ["prepare"]
    assert stage_uses("from ..core.pipeline.stages import composite as c") == ["composite"]
    assert stage_uses("from changer.core import pipeline\npipeline.infer(m, j, s)") == ["infer"]
    assert stage_uses("import changer.core.pipeline as p\np.key_plate(s, t)") == ["key_plate"]
    assert stage_uses("from changer.core.pipeline import FrameResult\nmodel.infer(x)") == []


def test_only_the_effect_drives_the_stages() -> None:
    drivers = {}
    for folder in PACKAGE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == DRIVER or ENGINE in path.parents:
                continue
            uses = stage_uses(path.read_text())
            if uses:
                drivers[str(path.relative_to(ROOT))] = uses
    assert drivers == {}, f"render stages run outside plugin/effect.py: {drivers}"
    assert STAGE_FUNCTIONS - {"render_frame"} <= set(stage_uses(DRIVER.read_text()))

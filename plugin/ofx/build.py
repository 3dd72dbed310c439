"""Building and installing ``CHANGER.ofx.bundle``: compile the C++ plug-in, write its description, record its glibc.

The bundle follows the OpenFX layout (``Contents/Linux-x86-64/CHANGER.ofx``, ``Contents/Resources``).
cmake (with ninja or make) builds it when present, else plain g++; with neither the error names
what is missing. The library links libstdc++ statically, so a host machine needs only a glibc at
least as new as the one recorded in ``Resources/build.json`` (the newest ``GLIBC_x.y`` symbol version
it uses).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from changer.core.errors import ChangerError

from .bundle_json import DESCRIPTION_FILE, description_text

log = logging.getLogger(__name__)

SOURCE_DIR = Path(__file__).resolve().parent
SOURCES = ("src/plugin.cpp", "src/describe.cpp", "src/sidecar.cpp", "src/pixels.cpp", "src/json.cpp")
BUNDLE_NAME = "CHANGER.ofx.bundle"
LIBRARY_NAME = "CHANGER.ofx"
ARCH_DIR = "Linux-x86-64"
#: The only symbols the library may export.
ENTRY_POINTS = ("OfxGetNumberOfPlugins", "OfxGetPlugin")
#: What ``changer ofx install`` writes into Resources: the interpreter the sidecar runs in.
PYTHON_FILE = "python.txt"
BUILD_INFO_FILE = "build.json"


class BuildError(ChangerError):
    """The bundle cannot be built here (a missing compiler or a compile error)."""


@dataclass(frozen=True)
class BuiltBundle:
    """A finished bundle and what it needs on a host machine."""

    path: Path
    library: Path
    glibc: str  #: the newest glibc symbol version the library needs, e.g. "2.34"
    tool: str  #: "cmake" or "g++"

    @property
    def resources(self) -> Path:
        return self.path / "Contents" / "Resources"


def _run(command: list[str], cwd: Path | None = None) -> None:
    log.info("running %s", " ".join(command))
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"{command[0]} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")


def _compile_cmake(work: Path) -> Path:
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    _run(["cmake", "-S", str(SOURCE_DIR), "-B", str(work), "-DCMAKE_BUILD_TYPE=Release", *generator])
    _run(["cmake", "--build", str(work)])
    return work / LIBRARY_NAME


def _compile_gxx(compiler: str, work: Path) -> Path:
    library = work / LIBRARY_NAME
    _run([compiler, "-std=c++17", "-O2", "-fPIC", "-shared", "-fvisibility=hidden", "-Wall", "-Wextra",
          f"-I{SOURCE_DIR / 'include'}", *(str(SOURCE_DIR / s) for s in SOURCES), "-o", str(library),
          f"-Wl,--version-script={SOURCE_DIR / 'src' / 'exports.map'}", "-static-libstdc++", "-static-libgcc",
          "-Wl,--no-undefined", "-ldl", "-lrt", "-lpthread"])
    return library


def pick_tool(tool: str = "auto") -> str:
    """``cmake`` when it and a C++ compiler exist, else ``g++``; BuildError naming what is missing."""
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        raise BuildError("no C++ compiler found (looked for c++ and g++ on PATH); install g++ to build the bundle")
    if tool == "auto":
        return "cmake" if shutil.which("cmake") else "g++"
    if tool == "cmake" and shutil.which("cmake") is None:
        raise BuildError("cmake not found on PATH (use --tool g++ to build without it)")
    return tool


def exported_symbols(library: Path) -> list[str]:
    """The library's exported (defined, dynamic) symbols, as ``nm -D`` lists them."""
    if shutil.which("nm") is None:
        raise BuildError("nm not found on PATH (binutils)")
    done = subprocess.run(["nm", "-D", "--defined-only", str(library)], capture_output=True, text=True, check=True)
    return sorted(line.split()[-1] for line in done.stdout.splitlines() if line.strip())


def required_glibc(library: Path) -> str:
    """The newest ``GLIBC_x.y`` version among the library's undefined dynamic symbols."""
    done = subprocess.run(["nm", "-D", "--undefined-only", str(library)], capture_output=True, text=True, check=True)
    versions = {tuple(int(p) for p in m.group(1).split(".")) for m in re.finditer(r"GLIBC_([0-9.]+)", done.stdout)}
    return ".".join(str(p) for p in max(versions)) if versions else "unknown"


def build_bundle(out: Path, tool: str = "auto") -> BuiltBundle:
    """Compile the plug-in and assemble ``out/CHANGER.ofx.bundle`` (an older bundle there is replaced)."""
    tool = pick_tool(tool)
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="changer-ofx-build-") as tmp:
        work = Path(tmp)
        compiler = shutil.which("c++") or shutil.which("g++") or "g++"
        built = _compile_cmake(work / "cmake") if tool == "cmake" else _compile_gxx(compiler, work)
        exports = exported_symbols(built)
        if exports != sorted(ENTRY_POINTS):
            raise BuildError(f"the library exports {exports}; expected only {', '.join(ENTRY_POINTS)}")
        glibc = required_glibc(built)
        staging = work / BUNDLE_NAME
        binary_dir = staging / "Contents" / ARCH_DIR
        resources = staging / "Contents" / "Resources"
        binary_dir.mkdir(parents=True)
        resources.mkdir(parents=True)
        shutil.copy2(built, binary_dir / LIBRARY_NAME)
        (resources / DESCRIPTION_FILE).write_text(description_text(), encoding="utf-8")
        info = {"glibc": glibc, "tool": tool, "exports": exports, "python_built_with": sys.executable}
        (resources / BUILD_INFO_FILE).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        bundle = out / BUNDLE_NAME
        if bundle.exists():
            shutil.rmtree(bundle)
        shutil.move(str(staging), bundle)
    return BuiltBundle(bundle, bundle / "Contents" / ARCH_DIR / LIBRARY_NAME, glibc, tool)


def install_bundle(built: BuiltBundle, dest: Path, python: str = sys.executable) -> Path:
    """Copy the bundle into ``dest`` (replacing an older one) with ``python.txt`` naming ``python``."""
    dest = dest.expanduser().resolve()
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / BUNDLE_NAME
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(built.path, target)
    (target / "Contents" / "Resources" / PYTHON_FILE).write_text(python + "\n", encoding="utf-8")
    return target

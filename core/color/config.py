"""OCIO config resolution, colourspace-name validation and display/view helpers.

Resolution order for the config (:func:`get_config`):

1. an explicit argument: a path to a ``.ocio`` file or an ``ocio://`` built-in URI;
2. else ``$OCIO`` when set (it must exist and load; the error names the path);
3. else :data:`DEFAULT_CONFIG`, the built-in ACES CG config by its full versioned name.

OCIO's own ``GetCurrentConfig()`` silently falls back to a one-colourspace *Raw* config when
``$OCIO`` is unset; it is never used here. Every config is created explicitly from its source.
"""

from __future__ import annotations

import difflib
import functools
import os
from dataclasses import dataclass, field

import PyOpenColorIO as ocio

from changer.core.errors import SHOWN_CHARS, ColorError, shown

#: The default config, by its full versioned URI (``ocio://default`` changes between releases).
DEFAULT_CONFIG = "ocio://cg-config-v2.2.0_aces-v1.3_ocio-v2.4"
#: Scene-linear working space of the pipeline (EXR in and out).
DEFAULT_WORKING_SPACE = "ACEScg"
#: The space the network is trained in: sRGB-encoded Rec.709, values in [0, 1].
DEFAULT_NETWORK_SPACE = "sRGB Encoded Rec.709 (sRGB)"
#: Environment variable honoured when no config is given explicitly.
OCIO_ENV = "OCIO"
BUILTIN_PREFIX = "ocio://"


@dataclass(frozen=True)
class ColorConfig:
    """A loaded OCIO config plus the working and network space names validated against it.

    Create with :func:`get_config`. Hashable and compared by ``(source, working, network)``.
    """

    config: ocio.Config = field(compare=False, repr=False)
    #: the path or ``ocio://`` URI it was loaded from (absolute path for files)
    source: str
    #: where the source came from: ``"argument"``, ``"$OCIO"`` or ``"default"``
    origin: str = field(compare=False)
    #: the config's own name (``config.getName()``), may be empty for hand-written configs
    name: str = field(compare=False)
    num_colorspaces: int = field(compare=False)
    working: str = DEFAULT_WORKING_SPACE
    network: str = DEFAULT_NETWORK_SPACE

    def describe(self) -> str:
        """One line for ``changer info``: name, source, origin and number of colourspaces."""
        name = self.name or os.path.basename(self.source)
        return (f"{name} ({self.source}, from {self.origin}), {self.num_colorspaces} colourspaces; "
                f"working {self.working!r}, network {self.network!r}")

    def colorspace(self, name: str) -> str:
        """Canonical name for a colourspace name, alias or role; ColorError if unknown."""
        return resolve_colorspace(self.config, name, self.source)

    @property
    def colorspaces(self) -> tuple[str, ...]:
        return tuple(self.config.getColorSpaceNames())

    @property
    def default_display(self) -> str:
        return self.config.getDefaultDisplay()

    @property
    def default_view(self) -> str:
        return self.config.getDefaultView(self.config.getDefaultDisplay())


ConfigLike = ColorConfig | str | os.PathLike | None


def resolve_config_source(config: str | os.PathLike | None = None) -> tuple[str, str]:
    """``(source, origin)`` following the resolution order; checks that a file source exists."""
    if config is not None and str(config).strip():
        return _check_source(str(config).strip(), "argument"), "argument"
    env = os.environ.get(OCIO_ENV, "").strip()
    if env:
        return _check_source(env, "$OCIO"), "$OCIO"
    return DEFAULT_CONFIG, "default"


def _check_source(source: str, origin: str) -> str:
    if source.startswith(BUILTIN_PREFIX):
        return source
    path = os.path.abspath(os.path.expanduser(source))
    if not os.path.isfile(path):
        what = f"${OCIO_ENV}" if origin == "$OCIO" else "OCIO config"
        raise ColorError(f"{what} points to {source!r}, which is not an existing file "
                         f"(expected a .ocio config file or an ocio:// built-in URI)")
    return path


@functools.lru_cache(maxsize=8)
def load_ocio_config(source: str) -> ocio.Config:
    """Create the config from a file path or ``ocio://`` URI (cached by source)."""
    try:
        cfg = ocio.Config.CreateFromFile(source)
    except Exception as exc:  # ocio.Exception, ocio.ExceptionMissingFile
        raise ColorError(f"cannot load OCIO config {source!r}: {exc}") from exc
    return cfg


def get_config(config: ConfigLike = None, *, working: str | None = None,
               network: str | None = None) -> ColorConfig:
    """Resolve and load the OCIO config and validate the working and network space names.

    ``config``: a :class:`ColorConfig` (returned as is unless ``working``/``network`` override),
    a path, an ``ocio://`` URI, or None (then ``$OCIO``, then :data:`DEFAULT_CONFIG`).
    """
    if isinstance(config, ColorConfig):
        if working is None and network is None:
            return config
        working = working or config.working
        network = network or config.network
        source, origin = config.source, config.origin
    else:
        source, origin = resolve_config_source(config)
    return _make_config(source, origin, working or DEFAULT_WORKING_SPACE,
                        network or DEFAULT_NETWORK_SPACE)


@functools.lru_cache(maxsize=32)
def _make_config(source: str, origin: str, working: str, network: str) -> ColorConfig:
    cfg = load_ocio_config(source)
    working_name = resolve_colorspace(cfg, working, source)
    if not cfg.isColorSpaceLinear(working_name, ocio.REFERENCE_SPACE_SCENE):
        named = repr(working) if working == working_name else f"{working!r} (= {working_name!r})"
        raise ColorError(f"working space {named} is not scene-linear in OCIO config {source}: the keyer, "
                         f"the mattes and the comp work in scene-linear light (EXR plates); pick one such as "
                         f"{DEFAULT_WORKING_SPACE!r} and convert display-referred plates to it first")
    return ColorConfig(config=cfg, source=source, origin=origin, name=cfg.getName(),
                       num_colorspaces=len(cfg.getColorSpaceNames()),
                       working=working_name,
                       network=resolve_colorspace(cfg, network, source))


def _all_names(cfg: ocio.Config) -> dict[str, str]:
    """Every name ``getColorSpace`` accepts (names, aliases, roles) -> canonical name."""
    names = {n: n for n in cfg.getColorSpaceNames()}
    for cs in cfg.getColorSpaces():
        for alias in cs.getAliases():
            names.setdefault(alias, cs.getName())
    for role, cs_name in cfg.getRoles():
        names.setdefault(role, cs_name)
    return names


def close_matches(name: str, candidates, n: int = 5) -> list[str]:
    """Closest candidates to ``name`` (difflib, case-insensitive), original spelling kept."""
    by_lower: dict[str, str] = {}
    for c in candidates:
        by_lower.setdefault(c.lower(), c)
    hits = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.5)
    return [by_lower[h] for h in hits]


def _unknown(what: str, name: str, candidates: dict[str, str], where: str) -> ColorError:
    """ColorError naming ``name`` and the closest valid names (alias -> canonical shown)."""
    key = name.strip().lower()
    contains = [c for c in dict.fromkeys(candidates.values()) if key and key in c.lower()]
    near = close_matches(name, candidates) if len(name) <= SHOWN_CHARS else []
    hits = list(dict.fromkeys(contains[:3] + near))[:6]
    if hits:
        names = [repr(h) if candidates[h] == h else f"{h!r} (= {candidates[h]!r})" for h in hits]
        hint = "closest: " + ", ".join(names)
    else:
        canon = list(dict.fromkeys(candidates.values()))
        hint = "valid: " + ", ".join(repr(c) for c in canon[:40])
        if len(canon) > 40:
            hint += f", ... ({len(canon)} in all)"
    return ColorError(f"unknown {what} {shown(name)} in OCIO config {where}; {hint}")


def resolve_colorspace(cfg: ocio.Config, name: str, where: str = "") -> str:
    """Canonical name for a colourspace name, alias or role; ColorError listing close names."""
    if not isinstance(name, str) or not name.strip():
        raise ColorError(f"colourspace name must be a non-empty string, got {name!r}")
    cs = cfg.getColorSpace(name)
    if cs is None:
        raise _unknown("colourspace", name, _all_names(cfg), where or cfg.getName())
    return cs.getName()


def is_linear(cfg: ocio.Config, name: str) -> bool:
    """Whether ``name`` is linear relative to the scene reference (OCIO's own test)."""
    try:
        return bool(cfg.isColorSpaceLinear(name, ocio.REFERENCE_SPACE_SCENE))
    except Exception:  # pragma: no cover - very old or odd configs
        return False


def default_display_view(config: ConfigLike = None) -> tuple[str, str]:
    """The config's default ``(display, view)``."""
    cc = get_config(config)
    return cc.default_display, cc.default_view


def display_view_processor(config: ConfigLike = None, *, src: str | None = None,
                           display: str | None = None, view: str | None = None,
                           inverse: bool = False) -> ocio.Processor:
    """OCIO processor for a DisplayViewTransform from ``src`` (default: working space).

    ``display``/``view`` default to the config's defaults; unknown names raise ColorError with
    the closest valid ones. Cached. Use ``.getDefaultCPUProcessor()`` or a GPU processor on it.
    """
    cc = get_config(config)
    src = cc.colorspace(src) if src else cc.working
    cfg = cc.config
    display = display or cc.default_display
    displays = {d: d for d in cfg.getDisplays()}
    if display not in displays:
        raise _unknown("display", display, displays, cc.source)
    views = {v: v for v in cfg.getViews(display)}
    view = view or cfg.getDefaultView(display)
    if view not in views:
        raise _unknown("view", view, views, f"{cc.source} (display {display!r})")
    return _display_view_processor(cc.source, src, display, view, inverse)


@functools.lru_cache(maxsize=32)
def _display_view_processor(source: str, src: str, display: str, view: str,
                            inverse: bool) -> ocio.Processor:
    t = ocio.DisplayViewTransform(src=src, display=display, view=view)
    if inverse:
        t.setDirection(ocio.TRANSFORM_DIR_INVERSE)
    try:
        return load_ocio_config(source).getProcessor(t)
    except Exception as exc:
        raise ColorError(f"cannot build display/view processor {src!r} -> "
                         f"{display!r}/{view!r} in {source}: {exc}") from exc


@functools.lru_cache(maxsize=64)
def processor(source: str, src: str, dst: str) -> ocio.Processor:
    """OCIO processor between two canonical colourspace names of the config at ``source``."""
    try:
        return load_ocio_config(source).getProcessor(src, dst)
    except Exception as exc:
        raise ColorError(f"cannot build OCIO processor {src!r} -> {dst!r} in {source}: "
                         f"{exc}") from exc


@functools.lru_cache(maxsize=64)
def cpu_processor(source: str, src: str, dst: str) -> ocio.CPUProcessor:
    """OCIO's default (float32) CPU processor for ``src -> dst``, cached."""
    return processor(source, src, dst).getDefaultCPUProcessor()


def clear_config_caches() -> None:
    """Forget loaded configs and processors (e.g. after a config file changed on disk)."""
    for f in (load_ocio_config, _make_config, _display_view_processor, processor, cpu_processor):
        f.cache_clear()

"""The batch commands' options as data, parsed from (and for a render written back to) a command line.

``changer render`` parses into :class:`RenderOptions`; the farm-chunk printer and the Nuke adapter write
command lines from it with :meth:`RenderOptions.to_argv`, so the three never disagree about a flag.
``changer key`` parses into :class:`KeyOptions`. Both share :class:`OutputOptions` and its flags
(:func:`add_output_arguments`), so the output, frame, param and EXR flags mean one thing everywhere.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TypeVar

from changer.core.io import EXR_COMPRESSIONS, EXR_PIXEL_TYPES, chunk_frames, format_frames

#: Clip option -> (role, help). Roles are those of changer.plugin.descriptor.
CLIP_OPTIONS = {
    "target": ("target", "the double's green-screen plate sequence, e.g. plate.####.exr (required)"),
    "source": ("source", "the actor's head plate sequence (required)"),
    "target_matte": ("target_matte", "the double's head matte sequence (optional: when absent it is made from "
                                     "the Target plate, see docs/mattes.md)"),
    "source_matte": ("source_matte", "the actor's head matte sequence (optional: when absent it is made from "
                                     "the Source plate)"),
    "background": ("background", "optional background plate sequence (or a still) to comp over"),
    "clean_screen": ("clean_screen", "optional clean screen plate sequence (or a still)"),
}
REQUIRED_CLIPS = ("target", "source")
CLIPS_GROUP = "clips (sequence patterns: name.####.exr, name.%04d.exr, name.@@@@.exr)"
_Options = TypeVar("_Options", bound="OutputOptions")


@dataclass(frozen=True, kw_only=True)
class OutputOptions:
    """What every batch command is told besides its clips: output, frames, params, EXR settings, workers."""

    out: str | None = None
    frames: str | None = None
    sets: tuple[str, ...] = ()
    config: str | None = None
    ocio_config: str | None = None
    working_space: str | None = None
    pixel_type: str = "half"
    compression: str = "zip"
    workers: int = 1
    overwrite: bool = False

    @classmethod
    def from_args(cls: type[_Options], args: argparse.Namespace) -> _Options:
        values = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
        values["sets"] = tuple(values.get("sets") or ())
        values["out"] = None if values.get("out") is None else str(values["out"])
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class RenderOptions(OutputOptions):
    """Everything ``changer render`` is told, as typed data."""

    target: str
    source: str
    target_matte: str | None = None
    source_matte: str | None = None
    background: str | None = None
    clean_screen: str | None = None
    target_matte_channel: str = "auto"
    source_matte_channel: str = "auto"

    def to_argv(self, program: str = "changer") -> list[str]:
        """The command line that reproduces these options (``changer render ...``)."""
        argv = [program, "render"]
        for name in (*CLIP_OPTIONS, "out"):
            value = getattr(self, name)
            if value is not None:
                argv += [f"--{name.replace('_', '-')}", str(value)]
        for name in ("target_matte_channel", "source_matte_channel"):
            if getattr(self, name) != "auto":
                argv += [f"--{name.replace('_', '-')}", getattr(self, name)]
        if self.frames is not None:
            argv += ["--frames", self.frames]
        for item in self.sets:
            argv += ["--set", item]
        for name in ("config", "ocio_config", "working_space"):
            if getattr(self, name) is not None:
                argv += [f"--{name.replace('_', '-')}", str(getattr(self, name))]
        if self.pixel_type != "half":
            argv += ["--pixel-type", self.pixel_type]
        if self.compression != "zip":
            argv += ["--compression", self.compression]
        if self.workers != 1:
            argv += ["--workers", str(self.workers)]
        if self.overwrite:
            argv.append("--overwrite")
        return argv

    def chunk_commands(self, frames: list[int], size: int, program: str = "changer") -> list[str]:
        """One shell-quoted command line per chunk of ``size`` frames, for any farm manager."""
        return [shlex.join(replace(self, frames=format_frames(chunk)).to_argv(program))
                for chunk in chunk_frames(frames, size)]


@dataclass(frozen=True, kw_only=True)
class KeyOptions(OutputOptions):
    """Everything ``changer key`` is told, as typed data."""

    plate: str | None = None
    clean_screen: str | None = None


def add_render_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``changer render`` (also what :meth:`RenderOptions.to_argv` writes)."""
    clips = parser.add_argument_group(CLIPS_GROUP)
    for name, (_, help_text) in CLIP_OPTIONS.items():
        clips.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="PATTERN", help=help_text)
    clips.add_argument("--target-matte-channel", default="auto", metavar="NAME",
                       help="channel of the target matte files (default auto: the only channel, else A)")
    clips.add_argument("--source-matte-channel", default="auto", metavar="NAME",
                       help="channel of the source matte files (default auto: the only channel, else A)")
    add_output_arguments(parser, "out/comp.####.exr", "tau=0.4")


def add_output_arguments(parser: argparse.ArgumentParser, out_example: str, set_example: str) -> None:
    """The flags of :class:`OutputOptions`, shared by ``changer render`` and ``changer key``."""
    parser.add_argument("--out", type=Path, metavar="PATTERN", help=f"output EXR sequence, e.g. {out_example}")
    parser.add_argument("--frames", metavar="RANGE",
                        help="frames to write: 1001-1100, 1001-1100x2, 1001,1005 "
                             "(default: the plate's frames on disk)")
    params = parser.add_argument_group("params (see `changer params`)")
    params.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                        help=f"set a param, e.g. --set {set_example} (repeatable; wins over --config)")
    params.add_argument("--config", metavar="SHOT.toml", help="shot settings: a TOML file with param names as keys")
    params.add_argument("--ocio-config", metavar="CFG", help="OCIO config path or ocio:// URI (the ocio_config param)")
    params.add_argument("--working-space", metavar="NAME",
                        help="colourspace of the plates and output (the working_space param)")
    output = parser.add_argument_group("output")
    output.add_argument("--pixel-type", default="half", choices=EXR_PIXEL_TYPES, help="EXR pixel type (default half)")
    output.add_argument("--compression", default="zip",
                        help=f"EXR compression: {', '.join(EXR_COMPRESSIONS)} (default zip)")
    output.add_argument("--overwrite", action="store_true", help="re-render frames that are already complete")
    output.add_argument("--workers", type=int, default=1,
                        help="frames rendered in parallel processes, each on one CPU thread "
                             "(default 1; use the core count for throughput)")

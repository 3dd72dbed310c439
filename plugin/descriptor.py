"""The OpenFX-shaped description of the CHANGER node: identity, contexts, clips and params.

Plain data that a host adapter maps onto its own API (OpenFX property sets, Nuke knobs, the review
panel's widgets). Params come from :data:`changer.plugin.params.PARAMS`; nothing here re-lists them.

Clips have fixed *roles* (target, source, mattes, background, clean screen). In the ``general``
context their names are the roles' names (``Target``, ``Source``, ...). The ``filter`` context's
mandated input is called ``Source`` and is the image being filtered, which for this node is the
double's plate: there the Target role is named ``Source`` and the actor's plate ``Actor``; the
clips besides the filtered one are optional (the effect passes the plate through until the actor's
plate is connected). In both contexts the head mattes are optional: an unconnected one is made from
its plate (:mod:`changer.core.headmatte`; the ``matte_combine`` param says what a connected one does).
"""

from __future__ import annotations

from dataclasses import dataclass

from changer.core.errors import ParamError
from changer.core.pipeline.frame import GENERAL_CLIP_NAMES

from .params import PARAMS, Param

IDENTIFIER = "org.changer.HeadBlend"
VERSION = (0, 1)
LABEL = "CHANGER Head Blend"
GROUPING = "CHANGER"
DESCRIPTION = (
    "Puts the actor's head (Source) on the double's body (Target) on a green screen: the CHANGER network "
    "blends the head on green and a chroma key returns the result to any background (WACV 2025)."
)
CONTEXTS = ("general", "filter")
OUTPUT_CLIP = "Output"
ROLES = ("target", "source", "target_matte", "source_matte", "background", "clean_screen")


@dataclass(frozen=True)
class ClipDescriptor:
    """One input clip as a host declares it."""

    role: str
    name: str
    label: str
    components: tuple[str, ...]  #: accepted components, OpenFX names: RGBA, RGB, Alpha
    optional: bool
    is_mask: bool  #: mask clips get no colour transform
    hint: str


@dataclass(frozen=True)
class ContextDescriptor:
    """What :meth:`HeadBlendEffect.describe_in_context` declares: clips (by role) and params."""

    context: str
    clips: tuple[ClipDescriptor, ...]
    params: tuple[Param, ...]
    output_components: tuple[str, ...] = ("RGBA",)

    def clip(self, role: str) -> ClipDescriptor:
        return next(c for c in self.clips if c.role == role)

    @property
    def names(self) -> dict[str, str]:
        """role -> clip name in this context."""
        return {c.role: c.name for c in self.clips}


@dataclass(frozen=True)
class EffectDescriptor:
    """What :meth:`HeadBlendEffect.describe` declares."""

    identifier: str = IDENTIFIER
    version: tuple[int, int] = VERSION
    label: str = LABEL
    grouping: str = GROUPING
    description: str = DESCRIPTION
    contexts: tuple[str, ...] = CONTEXTS
    supports_tiles: bool = False  #: the network needs the whole crop
    supports_multi_resolution: bool = False  #: every clip must match the Target's frame
    temporal_clip_access: bool = False
    render_thread_safety: str = "instance_safe"  #: one model per device behind a lock
    output_premultiplication: tuple[str, ...] = ("premultiplied", "opaque")


_CLIPS = (
    ("target", GENERAL_CLIP_NAMES["target"], "Target plate", ("RGBA", "RGB"), False, False,
     "The double's green-screen plate (scene-linear, working space)."),
    ("source", GENERAL_CLIP_NAMES["source"], "Source head plate", ("RGBA", "RGB"), False, False,
     "The actor's plate the new head comes from (scene-linear, working space)."),
    ("target_matte", GENERAL_CLIP_NAMES["target_matte"], "Target head matte", ("Alpha", "RGBA"), True, True,
     "The double's head matte, hair included (M_T^head). Optional: unconnected, it is made from the Target plate "
     "on each frame (see Matte Combine)."),
    ("source_matte", GENERAL_CLIP_NAMES["source_matte"], "Source head matte", ("Alpha", "RGBA"), True, True,
     "The actor's head matte, hair included (M_S^head). Optional: unconnected, it is made from the Source plate "
     "on each frame (see Matte Combine)."),
    ("background", GENERAL_CLIP_NAMES["background"], "Background", ("RGBA", "RGB"), True, False,
     "Optional plate the result is composited over (comp output)."),
    ("clean_screen", GENERAL_CLIP_NAMES["clean_screen"], "Clean screen", ("RGBA", "RGB"), True, False,
     "Optional empty screen shot under the same light as the Target, for a better key."),
)


def context_descriptor(context: str) -> ContextDescriptor:
    """The clips and params of ``context`` (``general`` or ``filter``)."""
    if context not in CONTEXTS:
        raise ParamError(f"context {context!r}: expected one of {', '.join(CONTEXTS)}")
    rename = {"target": "Source", "source": "Actor"} if context == "filter" else {}
    clips = []
    for role, name, label, components, optional, is_mask, hint in _CLIPS:
        optional = optional or (context == "filter" and role != "target")
        clips.append(ClipDescriptor(role, rename.get(role, name), label, components, optional, is_mask, hint))
    return ContextDescriptor(context, tuple(clips), PARAMS)

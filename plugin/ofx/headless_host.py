"""A headless OpenFX host in ctypes: loads a real ``.ofx.bundle`` and runs its actions, for tests and benchmarks.

It provides the property, image-effect, parameter, memory, multithread and message suites, keeps
every property set in Python, and hands the plug-in images as numpy buffers laid out as a host lays
them out: rows going up from ``data``, any row padding, negative row bytes, bounds anywhere. It counts
the images it hands out and gets back, remembers persistent messages, and can simulate an abort.

x86-64 System V only: the variadic suite functions (``paramGetValueAtTime``, ``setPersistentMessage``)
are served by fixed-argument callbacks, which that calling convention makes equivalent.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ARCH_DIR = "Linux-x86-64"
STAT_OK, STAT_FAILED, STAT_ERR_UNKNOWN, STAT_ERR_BAD_HANDLE, STAT_ERR_BAD_INDEX = 0, 1, 3, 9, 10
STAT_REPLY_DEFAULT = 14
COMPONENTS = {4: "OfxImageComponentRGBA", 3: "OfxImageComponentRGB", 1: "OfxImageComponentAlpha"}
CONTEXTS = {"general": "OfxImageEffectContextGeneral", "filter": "OfxImageEffectContextFilter"}

VP, CP, I, D = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_double  # noqa: E741 (ctypes shorthands)
F = ctypes.CFUNCTYPE


class OfxHostStruct(ctypes.Structure):
    _fields_ = [("host", VP), ("fetchSuite", F(VP, VP, CP, I))]


class OfxPluginStruct(ctypes.Structure):
    _fields_ = [("pluginApi", CP), ("apiVersion", I), ("pluginIdentifier", CP), ("pluginVersionMajor", ctypes.c_uint),
                ("pluginVersionMinor", ctypes.c_uint), ("setHost", F(None, ctypes.POINTER(OfxHostStruct))),
                ("mainEntry", F(I, CP, VP, VP, VP))]


def _suite(name: str, members: list[tuple[str, Any]]) -> type[ctypes.Structure]:
    return type(name, (ctypes.Structure,), {"_fields_": members})


_PROPERTY = _suite("OfxPropertySuiteV1", [
    ("propSetPointer", F(I, VP, CP, I, VP)), ("propSetString", F(I, VP, CP, I, CP)),
    ("propSetDouble", F(I, VP, CP, I, D)), ("propSetInt", F(I, VP, CP, I, I)),
    ("propSetPointerN", F(I, VP, CP, I, VP)), ("propSetStringN", F(I, VP, CP, I, VP)),
    ("propSetDoubleN", F(I, VP, CP, I, VP)), ("propSetIntN", F(I, VP, CP, I, VP)),
    ("propGetPointer", F(I, VP, CP, I, VP)), ("propGetString", F(I, VP, CP, I, VP)),
    ("propGetDouble", F(I, VP, CP, I, VP)), ("propGetInt", F(I, VP, CP, I, VP)),
    ("propGetPointerN", F(I, VP, CP, I, VP)), ("propGetStringN", F(I, VP, CP, I, VP)),
    ("propGetDoubleN", F(I, VP, CP, I, VP)), ("propGetIntN", F(I, VP, CP, I, VP)),
    ("propReset", F(I, VP, CP)), ("propGetDimension", F(I, VP, CP, VP))])
_EFFECT = _suite("OfxImageEffectSuiteV1", [
    ("getPropertySet", F(I, VP, VP)), ("getParamSet", F(I, VP, VP)), ("clipDefine", F(I, VP, CP, VP)),
    ("clipGetHandle", F(I, VP, CP, VP, VP)), ("clipGetPropertySet", F(I, VP, VP)),
    ("clipGetImage", F(I, VP, D, VP, VP)), ("clipReleaseImage", F(I, VP)),
    ("clipGetRegionOfDefinition", F(I, VP, D, VP)), ("abort", F(I, VP)),
    ("imageMemoryAlloc", F(I, VP, ctypes.c_size_t, VP)), ("imageMemoryFree", F(I, VP)),
    ("imageMemoryLock", F(I, VP, VP)), ("imageMemoryUnlock", F(I, VP))])
_PARAM = _suite("OfxParameterSuiteV1", [
    ("paramDefine", F(I, VP, CP, CP, VP)), ("paramGetHandle", F(I, VP, CP, VP, VP)),
    ("paramSetGetPropertySet", F(I, VP, VP)), ("paramGetPropertySet", F(I, VP, VP)),
    ("paramGetValue", F(I, VP, VP, VP, VP)), ("paramGetValueAtTime", F(I, VP, D, VP, VP, VP)),
    ("paramGetDerivative", F(I, VP, D, VP)), ("paramGetIntegral", F(I, VP, D, D, VP)),
    ("paramSetValue", F(I, VP, VP)), ("paramSetValueAtTime", F(I, VP, D, VP)),
    ("paramGetNumKeys", F(I, VP, VP)), ("paramGetKeyTime", F(I, VP, ctypes.c_uint, VP)),
    ("paramGetKeyIndex", F(I, VP, D, I, VP)), ("paramDeleteKey", F(I, VP, D)), ("paramDeleteAllKeys", F(I, VP)),
    ("paramCopy", F(I, VP, VP, D, VP)), ("paramEditBegin", F(I, VP, CP)), ("paramEditEnd", F(I, VP))])
_MEMORY = _suite("OfxMemorySuiteV1", [("memoryAlloc", F(I, VP, ctypes.c_size_t, VP)), ("memoryFree", F(I, VP))])
_THREAD = _suite("OfxMultiThreadSuiteV1", [
    ("multiThread", F(I, VP, ctypes.c_uint, VP)), ("multiThreadNumCPUs", F(I, VP)),
    ("multiThreadIndex", F(I, VP)), ("multiThreadIsSpawnedThread", F(I)), ("mutexCreate", F(I, VP, I)),
    ("mutexDestroy", F(I, VP)), ("mutexLock", F(I, VP)), ("mutexUnLock", F(I, VP)), ("mutexTryLock", F(I, VP))])
_MESSAGE = _suite("OfxMessageSuiteV2", [
    ("message", F(I, VP, CP, CP, CP, CP)), ("setPersistentMessage", F(I, VP, CP, CP, CP, CP)),
    ("clearPersistentMessage", F(I, VP))])


class PropertySet:
    """One property set: name -> list of values; strings are kept as C buffers the plug-in may read."""

    def __init__(self, values: dict[str, list[Any]] | None = None) -> None:
        self.values: dict[str, list[Any]] = {}
        for name, items in (values or {}).items():
            for index, value in enumerate(items):
                self.set(name, index, value)

    def set(self, name: str, index: int, value: Any) -> None:
        items = self.values.setdefault(name, [])
        items.extend([None] * (index + 1 - len(items)))
        items[index] = ctypes.create_string_buffer(value) if isinstance(value, bytes) else value

    def get(self, name: str, index: int = 0) -> Any:
        value = self.values[name][index]
        return value.value.decode() if isinstance(value, ctypes.Array) else value

    def all(self, name: str) -> list[Any]:
        return [self.get(name, i) for i in range(len(self.values.get(name, [])))]


@dataclass
class Clip:
    """A clip of an instance: the host's images for it come from ``provide(time, scale) -> HostImage``."""

    name: str
    props: PropertySet
    provide: Callable[[float, tuple[float, float]], HostImage] | None = None
    rod: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


@dataclass
class HostImage:
    """Pixels as a host lays them out. ``pixels``: (H, W, C) float32, top row first; ``bounds`` in OpenFX
    pixel coordinates (y up); ``padding`` extra bytes per row; ``negative``: rows at falling addresses."""

    pixels: np.ndarray
    bounds: tuple[int, int, int, int]
    depth: str = "float"
    padding: int = 0
    negative: bool = False
    buffer: np.ndarray = field(init=False, repr=False)
    row_bytes: int = field(init=False)
    data: int = field(init=False)

    def __post_init__(self) -> None:
        height, width, channels = self.pixels.shape
        dtype = np.float16 if self.depth == "half" else np.float32
        row = width * channels * np.dtype(dtype).itemsize + self.padding
        self.buffer = np.zeros(row * height, np.uint8)
        rows = self.buffer.reshape(height, row)
        values = self.pixels.astype(dtype)
        for r in range(height):  # memory row m holds y = y1 + m (rows going up), or y2 - 1 - m when negative
            y_row = r if self.negative else height - 1 - r
            rows[r, :width * channels * values.itemsize] = values[y_row].reshape(-1).view(np.uint8)
        base = self.buffer.ctypes.data
        self.row_bytes = -row if self.negative else row
        self.data = base + (height - 1) * row if self.negative else base

    def read(self) -> np.ndarray:
        """The pixels now in the buffer, (H, W, C) float32, top row first."""
        height, width, channels = self.pixels.shape
        dtype = np.float16 if self.depth == "half" else np.float32
        row = abs(self.row_bytes)
        rows = self.buffer.reshape(height, row)[:, :width * channels * np.dtype(dtype).itemsize]
        values = rows.copy().view(dtype).reshape(height, width, channels).astype(np.float32)
        return values if self.negative else values[::-1]


class Instance:
    """One effect instance (or descriptor) the host made: its props, clips and params."""

    def __init__(self, host: HeadlessHost, context: str, descriptor: Instance | None = None) -> None:
        self.host = host
        self.context = context
        self.props = PropertySet({"OfxImageEffectPropContext": [CONTEXTS[context].encode()]})
        self.props.set("OfxPropInstanceData", 0, None)
        self.clips: dict[str, Clip] = {}
        self.params: dict[str, PropertySet] = {}
        self.param_set_props = PropertySet()
        self.message: tuple[str, str] | None = None
        if descriptor is not None:
            for name, clip in descriptor.clips.items():
                props = PropertySet(clip.props.values)
                props.set("OfxImageClipPropConnected", 0, 0)
                self.clips[name] = Clip(name, props)
            for name, param in descriptor.params.items():
                props = PropertySet(param.values)
                props.set("value", 0, list(props.all("OfxParamPropDefault")))
                self.params[name] = props
        self.handle = host.register(self)

    def connect(self, name: str, provide: Callable[[float, tuple[float, float]], HostImage],
                rod: tuple[float, float, float, float]) -> None:
        clip = self.clips[name]
        clip.provide, clip.rod = provide, rod
        clip.props.set("OfxImageClipPropConnected", 0, 1)

    def set_param(self, name: str, value: Any) -> None:
        """Set a param as a user would (a choice by its option text) and tell the plug-in."""
        props = self.params[name]
        kind = props.get("type")
        if kind == "OfxParamTypeChoice":
            value = [props.all("OfxParamPropChoiceOption").index(value)]
        elif kind == "OfxParamTypeRGB":
            value = list(value)
        elif kind == "OfxParamTypeString":
            value = [value.encode()]
        else:
            value = [int(value) if kind in ("OfxParamTypeInteger", "OfxParamTypeBoolean") else float(value)]
        props.set("value", 0, value)
        args = self.host.props({"OfxPropType": [b"OfxTypeParameter"], "OfxPropName": [name.encode()],
                                "OfxPropChangeReason": [b"OfxChangeUserEdited"], "OfxPropTime": [0.0],
                                "OfxImageEffectPropRenderScale": [1.0, 1.0]})
        self.host.call("OfxActionInstanceChanged", self.handle, args)


class HeadlessHost:
    """Loads one bundle and runs its plug-in's actions; every suite the plug-in asks for is served here."""

    def __init__(self, bundle: Path) -> None:
        library = Path(bundle) / "Contents" / ARCH_DIR / Path(bundle).name.replace(".bundle", "")
        self.objects: dict[int, Any] = {}
        self._next = 0x1000
        self.outstanding: dict[int, HostImage] = {}
        self.fetched = 0
        self.abort_flag = threading.Event()
        self.messages: list[tuple[str, str]] = []
        self._keep: list[Any] = []
        self._suites = self._make_suites()
        self.host_props = self.props({"OfxPropName": [b"changer.headless"], "OfxPropLabel": [b"CHANGER headless"]})
        self._fetch = F(VP, VP, CP, I)(self._fetch_suite)
        self._host = OfxHostStruct(self.host_props, self._fetch)
        self.lib = ctypes.CDLL(str(library), mode=os.RTLD_NOW | os.RTLD_LOCAL)
        self.lib.OfxGetNumberOfPlugins.restype = ctypes.c_int
        self.lib.OfxGetPlugin.restype = ctypes.POINTER(OfxPluginStruct)
        self.lib.OfxGetPlugin.argtypes = [ctypes.c_int]
        self.plugin = self.lib.OfxGetPlugin(0).contents
        self.plugin.setHost(ctypes.byref(self._host))
        self.descriptors: dict[str, Instance] = {}

    # -- handles -----------------------------------------------------------------------------------
    def register(self, obj: Any) -> int:
        self._next += 16
        self.objects[self._next] = obj
        return self._next

    def props(self, values: dict[str, list[Any]] | None = None) -> int:
        """A new property set; its handle."""
        return self.register(PropertySet(values))

    def obj(self, handle: int | None) -> Any:
        return self.objects.get(handle or 0)

    def call(self, action: str, handle: int | None, in_args: int | None = None, out_args: int | None = None) -> int:
        return self.plugin.mainEntry(action.encode(), handle, in_args, out_args)

    # -- the action sequence -----------------------------------------------------------------------
    def load(self) -> int:
        status = self.call("OfxActionLoad", None)
        if status != STAT_OK:
            return status
        self.effect_descriptor = Instance(self, "general")
        return self.call("OfxActionDescribe", self.effect_descriptor.handle)

    def describe_in_context(self, context: str) -> Instance:
        descriptor = Instance(self, context)
        args = self.props({"OfxImageEffectPropContext": [CONTEXTS[context].encode()]})
        status = self.call("OfxImageEffectActionDescribeInContext", descriptor.handle, args)
        if status != STAT_OK:
            raise RuntimeError(f"describe in context {context}: status {status}")
        self.descriptors[context] = descriptor
        return descriptor

    def create_instance(self, context: str = "general") -> Instance:
        descriptor = self.descriptors.get(context) or self.describe_in_context(context)
        instance = Instance(self, context, descriptor)
        status = self.call("OfxActionCreateInstance", instance.handle)
        if status != STAT_OK:
            raise RuntimeError(f"create instance: status {status}")
        return instance

    def destroy_instance(self, instance: Instance) -> int:
        return self.call("OfxActionDestroyInstance", instance.handle)

    def unload(self) -> int:
        return self.call("OfxActionUnload", None)

    def region_of_definition(self, instance: Instance, time: float) -> tuple[int, list[float]]:
        out = self.props()
        status = self.call("OfxImageEffectActionGetRegionOfDefinition", instance.handle,
                           self.props({"OfxPropTime": [time], "OfxImageEffectPropRenderScale": [1.0, 1.0]}), out)
        return status, self.obj(out).all("OfxImageEffectPropRegionOfDefinition")

    def regions_of_interest(self, instance: Instance, time: float, window: list[float]) -> dict[str, list[float]]:
        out = self.props()
        self.call("OfxImageEffectActionGetRegionsOfInterest", instance.handle,
                  self.props({"OfxPropTime": [time], "OfxImageEffectPropRegionOfInterest": window,
                              "OfxImageEffectPropRenderScale": [1.0, 1.0]}), out)
        return {k.removeprefix("OfxImageClipPropRoI_"): v for k, v in self.obj(out).values.items()}

    def clip_preferences(self, instance: Instance) -> dict[str, list[Any]]:
        out = self.props()
        self.call("OfxImageEffectActionGetClipPreferences", instance.handle, None, out)
        set_ = self.obj(out)
        return {k: set_.all(k) for k in set_.values}

    def is_identity(self, instance: Instance, time: float) -> tuple[int, str]:
        out = self.props({"OfxPropName": [b""], "OfxPropTime": [time]})
        status = self.call("OfxImageEffectActionIsIdentity", instance.handle,
                           self.props({"OfxPropTime": [time], "OfxImageEffectPropRenderScale": [1.0, 1.0],
                                       "OfxImageEffectPropRenderWindow": [0, 0, 1, 1]}), out)
        return status, self.obj(out).get("OfxPropName")

    def begin_sequence(self, instance: Instance, first: float, last: float) -> int:
        return self.call("OfxImageEffectActionBeginSequenceRender", instance.handle, self.props({
            "OfxImageEffectPropFrameRange": [first, last], "OfxImageEffectPropFrameStep": [1.0],
            "OfxPropIsInteractive": [0], "OfxImageEffectPropRenderScale": [1.0, 1.0]}))

    def end_sequence(self, instance: Instance, first: float, last: float) -> int:
        return self.call("OfxImageEffectActionEndSequenceRender", instance.handle, self.props({
            "OfxImageEffectPropFrameRange": [first, last], "OfxImageEffectPropFrameStep": [1.0],
            "OfxPropIsInteractive": [0], "OfxImageEffectPropRenderScale": [1.0, 1.0]}))

    def render(self, instance: Instance, time: float, window: tuple[int, int, int, int], output: HostImage,
               scale: tuple[float, float] = (1.0, 1.0)) -> int:
        """Render ``window`` of frame ``time`` into ``output`` (the host's output image)."""
        instance.clips["Output"].provide = lambda t, s: output
        return self.call("OfxImageEffectActionRender", instance.handle, self.props({
            "OfxPropTime": [time], "OfxImageEffectPropRenderWindow": list(window),
            "OfxImageEffectPropRenderScale": list(scale), "OfxImageEffectPropFieldToRender": [b"OfxImageFieldNone"],
            "OfxImageEffectPropSequentialRenderStatus": [0], "OfxImageEffectPropInteractiveRenderStatus": [0]}))

    # -- suites ------------------------------------------------------------------------------------
    def _fetch_suite(self, host: int, name: bytes, version: int) -> int | None:
        suite = self._suites.get((name.decode(), version))
        return ctypes.addressof(suite) if suite is not None else None

    def _make_suites(self) -> dict[tuple[str, int], ctypes.Structure]:
        def build(kind: type[ctypes.Structure], functions: dict[str, Callable[..., Any]]) -> ctypes.Structure:
            members = {}
            for name, proto in kind._fields_:
                fn = functions.get(name, lambda *a: STAT_ERR_UNKNOWN)
                members[name] = proto(_guarded(fn))
            self._keep.append(members)
            return kind(**members)

        message = build(_MESSAGE, self._message_functions())
        return {
            ("OfxPropertySuite", 1): build(_PROPERTY, self._property_functions()),
            ("OfxImageEffectSuite", 1): build(_EFFECT, self._effect_functions()),
            ("OfxParameterSuite", 1): build(_PARAM, self._param_functions()),
            ("OfxMemorySuite", 1): build(_MEMORY, self._memory_functions()),
            ("OfxMultiThreadSuite", 1): build(_THREAD, self._thread_functions()),
            ("OfxMessageSuite", 1): message,
            ("OfxMessageSuite", 2): message,
        }

    def _property_functions(self) -> dict[str, Callable[..., int]]:
        def setter(convert: Callable[[Any], Any]) -> Callable[..., int]:
            def set_(h: int, name: bytes, index: int, value: Any) -> int:
                self.obj(h).set(name.decode(), index, convert(value))
                return STAT_OK
            return set_

        def setter_n(ctype: Any, convert: Callable[[Any], Any]) -> Callable[..., int]:
            def set_n(h: int, name: bytes, count: int, values: int) -> int:
                array = ctypes.cast(values, ctypes.POINTER(ctype))
                for i in range(count):
                    self.obj(h).set(name.decode(), i, convert(array[i]))
                return STAT_OK
            return set_n

        def getter(ctype: Any, convert: Callable[[Any], Any]) -> Callable[..., int]:
            def get(h: int, name: bytes, index: int, out: int) -> int:
                props = self.obj(h)
                if props is None:
                    return STAT_ERR_BAD_HANDLE
                items = props.values.get(name.decode())
                if items is None:
                    return STAT_ERR_UNKNOWN
                if index >= len(items):
                    return STAT_ERR_BAD_INDEX
                ctypes.cast(out, ctypes.POINTER(ctype))[0] = convert(items[index])
                return STAT_OK
            return get

        def getter_n(single: Callable[..., int], ctype: Any) -> Callable[..., int]:
            def get_n(h: int, name: bytes, count: int, out: int) -> int:
                for i in range(count):
                    status = single(h, name, i, out + i * ctypes.sizeof(ctype))
                    if status != STAT_OK:
                        return status
                return STAT_OK
            return get_n

        def as_string(value: Any) -> int:
            return ctypes.addressof(value) if isinstance(value, ctypes.Array) else 0

        get_pointer = getter(VP, lambda v: v)
        get_string = getter(VP, as_string)
        get_double = getter(D, float)
        get_int = getter(I, int)

        def dimension(h: int, name: bytes, out: int) -> int:
            ctypes.cast(out, ctypes.POINTER(I))[0] = len(self.obj(h).values.get(name.decode(), []))
            return STAT_OK

        def reset(h: int, name: bytes) -> int:
            self.obj(h).values.pop(name.decode(), None)
            return STAT_OK

        return {
            "propSetPointer": setter(lambda v: v), "propSetString": setter(bytes), "propSetDouble": setter(float),
            "propSetInt": setter(int), "propSetPointerN": setter_n(VP, lambda v: v),
            "propSetStringN": setter_n(CP, bytes), "propSetDoubleN": setter_n(D, float),
            "propSetIntN": setter_n(I, int), "propGetPointer": get_pointer, "propGetString": get_string,
            "propGetDouble": get_double, "propGetInt": get_int, "propGetPointerN": getter_n(get_pointer, VP),
            "propGetStringN": getter_n(get_string, VP), "propGetDoubleN": getter_n(get_double, D),
            "propGetIntN": getter_n(get_int, I), "propReset": reset, "propGetDimension": dimension,
        }

    def _effect_functions(self) -> dict[str, Callable[..., int]]:
        def put(out: int, handle: int) -> None:
            if out:
                ctypes.cast(out, ctypes.POINTER(VP))[0] = handle

        def get_props(h: int, out: int) -> int:
            put(out, self.register(self.obj(h).props) if self.obj(h) else 0)
            return STAT_OK

        def param_set(h: int, out: int) -> int:
            put(out, h)
            return STAT_OK

        def clip_define(h: int, name: bytes, out: int) -> int:
            clip = Clip(name.decode(), PropertySet({"OfxPropName": [name]}))
            self.obj(h).clips[clip.name] = clip
            put(out, self.register(clip.props))
            return STAT_OK

        def clip_handle(h: int, name: bytes, out: int, props_out: int) -> int:
            clip = self.obj(h).clips.get(name.decode())
            if clip is None:
                return STAT_ERR_UNKNOWN
            put(out, self.register(clip))
            put(props_out, self.register(clip.props))
            return STAT_OK

        def clip_props(h: int, out: int) -> int:
            put(out, self.register(self.obj(h).props))
            return STAT_OK

        def clip_image(h: int, time: float, region: int, out: int) -> int:
            clip = self.obj(h)
            if clip.provide is None:
                return STAT_FAILED
            image = clip.provide(time, (1.0, 1.0))
            props = PropertySet({
                "OfxImagePropData": [image.data], "OfxImagePropBounds": list(image.bounds),
                "OfxImagePropRowBytes": [image.row_bytes],
                "OfxImageEffectPropPixelDepth": [b"OfxBitDepthHalf" if image.depth == "half" else b"OfxBitDepthFloat"],
                "OfxImageEffectPropComponents": [COMPONENTS[image.pixels.shape[2]].encode()],
                "OfxImageEffectPropPreMultiplication": [b"OfxImageAlphaPremultiplied"],
                "OfxImagePropPixelAspectRatio": [1.0]})
            handle = self.register(props)
            self.outstanding[handle] = image
            self.fetched += 1
            put(out, handle)
            return STAT_OK

        def release(h: int) -> int:
            return STAT_OK if self.outstanding.pop(h, None) is not None else STAT_ERR_BAD_HANDLE

        def clip_rod(h: int, time: float, out: int) -> int:
            rect = ctypes.cast(out, ctypes.POINTER(D))
            for i, v in enumerate(self.obj(h).rod):
                rect[i] = v
            return STAT_OK

        return {"getPropertySet": get_props, "getParamSet": param_set, "clipDefine": clip_define,
                "clipGetHandle": clip_handle, "clipGetPropertySet": clip_props, "clipGetImage": clip_image,
                "clipReleaseImage": release, "clipGetRegionOfDefinition": clip_rod,
                "abort": lambda h: 1 if self.abort_flag.is_set() else 0,
                "imageMemoryAlloc": lambda *a: STAT_FAILED}

    def _param_functions(self) -> dict[str, Callable[..., int]]:
        def put(out: int, handle: int) -> None:
            if out:
                ctypes.cast(out, ctypes.POINTER(VP))[0] = handle

        def define(h: int, kind: bytes, name: bytes, out: int) -> int:
            props = PropertySet({"type": [kind.decode()], "OfxPropName": [name]})
            self.obj(h).params[name.decode()] = props
            put(out, self.register(props))
            return STAT_OK

        def get_handle(h: int, name: bytes, out: int, props_out: int) -> int:
            props = self.obj(h).params.get(name.decode())
            if props is None:
                return STAT_ERR_UNKNOWN
            handle = self.register(props)
            put(out, handle)
            put(props_out, handle)
            return STAT_OK

        def value(h: int, a: int, b: int, c: int) -> int:
            props = self.obj(h)
            kind, values = props.get("type"), props.get("value")
            if kind in ("OfxParamTypeDouble",):
                ctypes.cast(a, ctypes.POINTER(D))[0] = values[0]
            elif kind == "OfxParamTypeRGB":
                for out, v in zip((a, b, c), values, strict=True):
                    ctypes.cast(out, ctypes.POINTER(D))[0] = v
            elif kind == "OfxParamTypeString":
                text = values[0]
                buffer = ctypes.create_string_buffer(text.encode() if isinstance(text, str) else bytes(text))
                props.set("buffer", 0, buffer)
                ctypes.cast(a, ctypes.POINTER(VP))[0] = ctypes.addressof(buffer)
            else:
                ctypes.cast(a, ctypes.POINTER(I))[0] = int(values[0])
            return STAT_OK

        def props_of(h: int, out: int) -> int:
            put(out, h)
            return STAT_OK

        return {"paramDefine": define, "paramGetHandle": get_handle, "paramGetPropertySet": props_of,
                "paramSetGetPropertySet": lambda h, out: props_of(self.register(self.obj(h).param_set_props), out),
                "paramGetValue": value, "paramGetValueAtTime": lambda h, t, a, b, c: value(h, a, b, c)}

    def _memory_functions(self) -> dict[str, Callable[..., int]]:
        blocks: dict[int, Any] = {}

        def alloc(h: int, size: int, out: int) -> int:
            block = ctypes.create_string_buffer(size)
            blocks[ctypes.addressof(block)] = block
            ctypes.cast(out, ctypes.POINTER(VP))[0] = ctypes.addressof(block)
            return STAT_OK

        return {"memoryAlloc": alloc,
                "memoryFree": lambda p: STAT_OK if blocks.pop(p or 0, None) is not None else STAT_ERR_BAD_HANDLE}

    def _thread_functions(self) -> dict[str, Callable[..., int]]:
        proto = F(None, ctypes.c_uint, ctypes.c_uint, VP)

        def run(fn: int, count: int, arg: int) -> int:
            call = ctypes.cast(fn, proto)
            for i in range(max(count, 1)):
                call(i, max(count, 1), arg)
            return STAT_OK

        def one(out: int) -> int:
            ctypes.cast(out, ctypes.POINTER(ctypes.c_uint))[0] = 1
            return STAT_OK

        def zero(out: int) -> int:
            ctypes.cast(out, ctypes.POINTER(ctypes.c_uint))[0] = 0
            return STAT_OK

        return {"multiThread": run, "multiThreadNumCPUs": one, "multiThreadIndex": zero,
                "multiThreadIsSpawnedThread": lambda: 0, "mutexCreate": lambda out, n: STAT_OK,
                "mutexDestroy": lambda m: STAT_OK, "mutexLock": lambda m: STAT_OK, "mutexUnLock": lambda m: STAT_OK,
                "mutexTryLock": lambda m: STAT_OK}

    def _message_functions(self) -> dict[str, Callable[..., int]]:
        def text(fmt: bytes, arg: bytes | None) -> str:
            return (arg or b"").decode(errors="replace") if fmt == b"%s" else fmt.decode(errors="replace")

        def message(h: int, kind: bytes, ident: bytes, fmt: bytes, arg: bytes | None) -> int:
            self.messages.append((kind.decode(), text(fmt, arg)))
            return STAT_OK

        def persistent(h: int, kind: bytes, ident: bytes, fmt: bytes, arg: bytes | None) -> int:
            instance = self.obj(h)
            if instance is None:
                return STAT_ERR_BAD_HANDLE
            instance.message = (kind.decode(), text(fmt, arg))
            return STAT_OK

        def clear(h: int) -> int:
            instance = self.obj(h)
            if instance is None:
                return STAT_ERR_BAD_HANDLE
            instance.message = None
            return STAT_OK

        return {"message": message, "setPersistentMessage": persistent, "clearPersistentMessage": clear}


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A suite function that reports a Python error as a failed status instead of losing it in ctypes."""
    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:
            log.exception("headless host: %s failed", getattr(fn, "__name__", fn))
            return STAT_ERR_UNKNOWN
    return call

"""Byte-bounded LRU caches for the review panel, and the keys that decide what a param change invalidates.

The panel keeps four things per frame: the loaded clip pixels, the network's prepared inputs
(``NetworkJob``), the network's output, and the composited :class:`FrameResult`. Each is keyed by the
frame, the proxy scale and only the params its stage reads (``Param.stage`` in
:mod:`changer.plugin.params`), so a keyer-only ("comp" stage) change finds the cached network output
and re-runs just the composite, while τ misses the output but still reuses the prepared job.
No Qt here: the caches are filled on the render thread and read by the window, behind one lock each.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

import torch

from changer.plugin.params import PARAMS

log = logging.getLogger(__name__)

V = TypeVar("V")

#: Params the network stage reads (prepare and infer). Everything else only changes the composite.
NETWORK_PARAMS = tuple(p.name for p in PARAMS if p.stage == "network")
COMP_PARAMS = tuple(p.name for p in PARAMS if p.stage == "comp")
#: Network-stage params that ``infer`` takes as an argument rather than ``prepare``: a change of these
#: re-runs the model on the cached prepared job.
INFER_ONLY_PARAMS = ("tau",)


def _values_key(values: Mapping[str, Any], names: Iterable[str]) -> str:
    return json.dumps({name: values[name] for name in names}, sort_keys=True, default=list)


def prepare_key(values: Mapping[str, Any]) -> str:
    """What ``prepare`` depends on: the network-stage params less τ."""
    return _values_key(values, (n for n in NETWORK_PARAMS if n not in INFER_ONLY_PARAMS))


def network_key(values: Mapping[str, Any]) -> str:
    """What the network output depends on: every network-stage param."""
    return _values_key(values, NETWORK_PARAMS)


def result_key(values: Mapping[str, Any]) -> str:
    """What a composited frame depends on: every param."""
    return _values_key(values, (p.name for p in PARAMS))


def nbytes(value: Any) -> int:
    """Bytes held by tensors inside ``value`` (dataclasses, tuples, dicts and lists are walked)."""
    seen: set[int] = set()

    def walk(obj: Any) -> int:
        if isinstance(obj, torch.Tensor):
            storage = obj.untyped_storage()
            key = storage.data_ptr()
            if key in seen:
                return 0
            seen.add(key)
            return storage.nbytes()
        if isinstance(obj, Mapping):
            return sum(walk(v) for v in obj.values())
        if isinstance(obj, (list, tuple)):
            return sum(walk(v) for v in obj)
        if hasattr(obj, "__dataclass_fields__"):
            return sum(walk(getattr(obj, name)) for name in obj.__dataclass_fields__)
        return 0

    return walk(value)


class LruCache(Generic[V]):
    """A thread-safe least-recently-used map that evicts by total tensor bytes."""

    def __init__(self, name: str, max_bytes: int) -> None:
        self.name = name
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: Hashable, value: V) -> None:
        size = nbytes(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped
        log.debug("%s cache: %d item(s), %.1f MB", self.name, len(self), self._bytes / 2**20)

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

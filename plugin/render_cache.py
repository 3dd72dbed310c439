"""The effect's stage cache: what each render stage made, kept for the next render that needs it.

:meth:`changer.plugin.effect.HeadBlendEffect.render` looks every stage product up here before it
runs the stage. Keys are built by the effect: the frame (time and render scale), the digest of the
params the product depends on (its stage's params and every earlier stage's, see
:meth:`changer.plugin.params.ParamValues.stage_digest`) and, for the network's output, FPAT's query
patch. So a change to a comp-stage param finds the network output cached, τ finds the prepared
inputs, and a keyer knob finds the plate's screen. An interactive host (the review panel, an OFX
sidecar) keeps one cache per instance; the batch host passes none and keeps nothing.

Each stage has its own byte budget, evicted least recently used first. Tensors stay on the device
they were made on. No Qt here: the panel renders on its own thread, so every cache takes a lock.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any, Generic, TypeVar

import torch

log = logging.getLogger(__name__)

V = TypeVar("V")

#: The cached products, in render order, with their share of the byte budget: the clips' pixels,
#: ``prepare``'s network job, ``infer``'s network output, the comp stage's own products (the network's
#: result placed at plate resolution, the plate's screen and its artist key) and the composited frame.
STAGE_SHARES = {"inputs": 4, "prepare": 2, "infer": 1, "place": 2, "screen": 3, "plate": 2, "comp": 4}
DEFAULT_BYTES = 2048 * 2**20


class Missing:
    """What :meth:`LruCache.get` returns for a key it does not hold (a stage product may be None)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


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

    def get(self, key: Hashable) -> V | Missing:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return MISSING
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


class RenderCache:
    """One :class:`LruCache` per stage product (:data:`STAGE_SHARES`), sharing ``max_bytes``."""

    def __init__(self, max_bytes: int = DEFAULT_BYTES) -> None:
        total = sum(STAGE_SHARES.values())
        self.stages = {name: LruCache(name, max_bytes * share // total) for name, share in STAGE_SHARES.items()}

    def get(self, stage: str, key: Hashable) -> Any:
        """The product of ``stage`` for ``key``, or :data:`MISSING`."""
        return self.stages[stage].get(key)

    def put(self, stage: str, key: Hashable, value: Any) -> None:
        self.stages[stage].put(key, value)

    def keys(self, stage: str) -> list[Hashable]:
        return self.stages[stage].keys()

    def clear(self) -> None:
        """Forget everything (the inputs changed on disk)."""
        for cache in self.stages.values():
            cache.clear()

"""The OpenFX plug-in's engine process: a host adapter that renders through :class:`HeadBlendEffect`.

The C++ plug-in starts one of these per host process (``python -m changer.plugin.ofx.sidecar --fd 3``)
and talks to it in JSON lines over a Unix socket (fd 3); pixels travel in POSIX shared memory. It is a
host like the batch host: it hands the effect its clips (:class:`SharedClips`), renders one frame on one
CPU thread as ``changer render`` does (so the plug-in's frames equal the farm's), and loads each model
once (:data:`changer.plugin.models.MODELS`) for every instance of the node in the host.

Requests (each with an ``id``, echoed in its reply): ``hello``; ``begin`` (params: load the model);
``render`` (context, time, render scale, params, the host's colourspace of the Target, the shared
block's name and size, the frame's bounds, each clip's offset, bounds and channels, the output's
offset); ``abort`` (stop request ``id`` before its next stage). Replies: ``{"id", "ok"}`` plus
``error`` or ``aborted``. A user error (:class:`ChangerError`) or a bug is a reply, never an exit; the
process exits when the socket closes (the host unloaded the plug-in or died).

Pixels: the plug-in writes each clip as float32 planes, top row first, and unlinks nothing; this
process maps the block and unlinks its name at once, so nothing is left in ``/dev/shm`` whoever dies.
Clips are placed in the Target's frame (zeros where a clip has no pixels), as the batch host places
them in the Target's data window.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import mmap
import os
import queue
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from changer.core.color import get_config
from changer.core.device import one_cpu_thread, pick_device
from changer.core.errors import ChangerError, ColorError
from changer.core.masks import Box
from changer.plugin.effect import HeadBlendEffect, RenderAborted
from changer.plugin.params import ParamValues, resolve_params

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
#: Host colourspace names that say "linear" without naming a space: the working-space param decides.
GENERIC_COLOURSPACES = ("", "ofx_linear", "ofx_raw")


class SharedClips:
    """:class:`~changer.plugin.effect.ClipSource` over one render's shared block (views, no copies)."""

    def __init__(self, block: memoryview, request: dict[str, Any]) -> None:
        x1, y1, x2, y2 = request["frame"]
        self.frame = (x1, y1, x2, y2)
        self.height, self.width = y2 - y1, x2 - x1
        self._block = block
        self._clips: dict[str, dict[str, Any]] = request["clips"]

    def connected(self, clip: str) -> bool:
        return clip in self._clips

    def region_of_definition(self, clip: str, time: float) -> Box:
        return Box(0, 0, self.width, self.height)

    def planes(self, offset: int, channels: int, height: int, width: int) -> np.ndarray:
        count = channels * height * width
        return np.frombuffer(self._block, np.float32, count, offset).reshape(channels, height, width)

    def fetch(self, clip: str, time: float, render_scale: float = 1.0) -> torch.Tensor:
        """The clip's pixels in the Target's frame; the host already scaled them to the render scale."""
        info = self._clips[clip]
        cx1, cy1, cx2, cy2 = info["bounds"]
        pixels = self.planes(info["offset"], info["channels"], cy2 - cy1, cx2 - cx1)
        fx1, fy1, fx2, fy2 = self.frame
        if (cx1, cy1, cx2, cy2) != self.frame:  # rows run top down: row r is y = y2 - 1 - r
            placed = np.zeros((info["channels"], self.height, self.width), np.float32)
            x1, x2, y1, y2 = max(cx1, fx1), min(cx2, fx2), max(cy1, fy1), min(cy2, fy2)
            if x1 < x2 and y1 < y2:
                placed[:, fy2 - y2:fy2 - y1, x1 - fx1:x2 - fx1] = pixels[:, cy2 - y2:cy2 - y1, x1 - cx1:x2 - cx1]
            pixels = placed
        return torch.from_numpy(pixels)


class Job:
    """One request in flight; ``aborted`` is set by the reader thread when the plug-in asks."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        self.aborted = threading.Event()


def request_params(request: dict[str, Any]) -> ParamValues:
    """The request's param values; the host's colourspace of the Target replaces the working-space param
    when it names a colourspace of the node's OCIO config (OpenFX 1.5 colour management)."""
    params = resolve_params(request["params"])
    space = request.get("colourspace", "")
    if space in GENERIC_COLOURSPACES or space.startswith("OfxColourspace_") or space == params["working_space"]:
        return params
    try:
        get_config(params["ocio_config"] or None, working=space)
    except ColorError:
        log.warning("the host's colourspace %r is not in the node's OCIO config; using working_space=%s",
                    space, params["working_space"])
        return params
    return params.replace(working_space=space)


@contextlib.contextmanager
def mapped(name: str, size: int) -> Iterator[memoryview]:
    """The plug-in's shared block, its name unlinked as soon as it is mapped here."""
    path = f"/dev/shm/{name.lstrip('/')}"
    fd = os.open(path, os.O_RDWR)
    try:
        block = mmap.mmap(fd, size)
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    view = memoryview(block)
    try:
        yield view
    finally:
        view.release()
        with contextlib.suppress(BufferError):  # a tensor still viewing it: the mapping goes with it
            block.close()


def render(job: Job) -> None:
    """One frame through the effect, written as RGBA planes into the block's output."""
    request = job.request
    params = request_params(request)
    effect = HeadBlendEffect(request["context"], params)
    with mapped(request["shm"], request["size"]) as block:
        source = SharedClips(block, request)
        sx, sy = request["scale"]
        with one_cpu_thread(pick_device(params["device"])):
            staged = effect.render_stages(source, request["time"], (sx, sy), abort=job.aborted.is_set)
        rgba = staged.result.rgba.to("cpu", torch.float32)
        source.planes(request["output"], 4, source.height, source.width)[...] = rgba.numpy()
        del staged, rgba, source


def begin(job: Job) -> None:
    """Load the model the params name (once per weights and device, shared by every instance)."""
    HeadBlendEffect("general", resolve_params(job.request["params"])).begin_sequence_render()


HANDLERS = {"hello": lambda job: None, "begin": begin, "render": render}


def handle(job: Job) -> dict[str, Any]:
    """The reply to one request: ok, or why not."""
    reply: dict[str, Any] = {"id": job.request.get("id")}
    handler = HANDLERS.get(job.request.get("op", ""))
    try:
        if handler is None:
            raise ChangerError(f"unknown request {job.request.get('op')!r}")
        handler(job)
        reply["ok"] = True
    except RenderAborted:
        reply.update(ok=False, aborted=True, error="aborted by the host")
    except ChangerError as exc:
        reply.update(ok=False, error=str(exc))
    except Exception as exc:  # a bug: reported to the node, logged with its traceback, the sidecar lives on
        traceback.print_exc(file=sys.stderr)
        reply.update(ok=False, error=f"internal error ({type(exc).__name__}: {exc}); see the host's stderr")
    if job.request.get("op") == "hello":
        reply["pid"] = os.getpid()
    return reply


def read_requests(stream: Any, jobs: queue.Queue[Job | None], pending: dict[Any, Job]) -> None:
    """Reader thread: requests to the queue, aborts straight to the job they name; None at end of file."""
    for line in stream:
        request = json.loads(line)
        if request.get("op") == "abort":
            job = pending.get(request.get("id"))
            if job is not None:
                job.aborted.set()
            continue
        job = pending[request.get("id")] = Job(request)
        jobs.put(job)
    jobs.put(None)


def serve(sock: socket.socket) -> None:
    """Answer requests in order until the plug-in closes the socket."""
    jobs: queue.Queue[Job | None] = queue.Queue()
    pending: dict[Any, Job] = {}
    reader = threading.Thread(target=read_requests, args=(sock.makefile("r", encoding="utf-8"), jobs, pending),
                              daemon=True)
    reader.start()
    out = sock.makefile("w", encoding="utf-8")
    while (job := jobs.get()) is not None:
        reply = handle(job)
        pending.pop(job.request.get("id"), None)
        out.write(json.dumps(reply) + "\n")
        out.flush()


def die_with_host() -> None:
    """SIGTERM when the host dies (Linux), and Ctrl+C in the host's terminal is the host's, not ours."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CHANGER's OpenFX engine process (started by the plug-in)")
    parser.add_argument("--fd", type=int, required=True, help="the connected Unix socket to the plug-in")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="changer-ofx-sidecar %(levelname)s: %(message)s")
    die_with_host()
    with socket.socket(fileno=args.fd) as sock:
        try:
            serve(sock)
        except (BrokenPipeError, ConnectionResetError):
            log.info("the plug-in went away")
    return 0


if __name__ == "__main__":
    sys.exit(main())

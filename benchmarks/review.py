"""Review panel latency: ms from a param change to the updated image on screen, at 1280x720 on the CPU.

Drives the real window (offscreen Qt unless a display is set) over the demo shot written as EXR: a
param is changed through its generated control (spin box), and the clock stops when the window has
painted the image of that request (render thread, caches, display transform and QImage included).
Every trial uses a new value, so nothing is answered from a cached composite. The panel renders
through the effect's stage cache (``changer.plugin.render_cache``):

* keyer-only: ``clip_black`` (stage "comp"): the plate is keyed again against its cached screen and
  the cached network output is re-composited.
* τ (stage "infer"): the network runs again on the cached prepared job, then the composite (with the
  cached key of the plate).
* baseline, measured in the same run: the effect without a cache for every change (the clips read
  and every stage run), what a panel without stage caches would have to do.

Rows for proxy scales show what the "Proxy" menu (the OpenFX render scale) buys. Weights: the
shipped ones if found, else a seeded untrained "small" model (the same network, so the same cost).
The machine's load average is printed before and after: on a shared machine it moves the figures.

    python benchmarks/review.py [--size 1280x720] [--repeat 5] [--proxies 1 0.5 0.25] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from changer.core.errors import WeightsError
from changer.core.model import build_model
from changer.core.model.weights_io import save_weights
from changer.plugin.effect import HeadBlendEffect
from changer.plugin.hosts.options import RenderOptions
from changer.plugin.models import resolve_weights
from changer.training.studio.shot import make_demo_shot, size_text
from changer.ui.app import application
from changer.ui.session import ReviewSession
from changer.ui.window import ReviewWindow

AIMS_MS = {"keyer-only": 150.0, "tau": 600.0}


def weights_for(folder: Path) -> tuple[str, str]:
    """(path, description) of the weights to time."""
    try:
        return str(resolve_weights()), "shipped"
    except WeightsError:
        torch.manual_seed(0)
        path = save_weights(build_model("small"), folder / "random-small.safetensors",
                            training_data="random init (benchmark)")
        return str(path), "untrained 'small' (shipped weights not found)"


def wait_shown(app, window, timeout: float = 600.0) -> None:
    """Spin the event loop until the window paints the newest request (or raise on error/timeout)."""
    start = time.perf_counter()
    while True:
        app.processEvents()
        if window.error:
            raise RuntimeError(window.error)
        reply = window.reply
        if reply is not None and not window._schedule.isActive() and reply.generation == window.worker.generation:
            return
        if time.perf_counter() - start > timeout:
            raise TimeoutError("no image")
        time.sleep(0.0005)


def change(app, window, name: str, value: float) -> float:
    """ms from setting ``name`` through its control to the window showing the result."""
    editor = window.panel.editors[name]
    start = time.perf_counter()
    editor.spin.setValue(value)
    wait_shown(app, window)
    return 1e3 * (time.perf_counter() - start)


def baseline_ms(session, frame: int, params, scale: float, repeat: int) -> list[float]:
    """The effect per change without a stage cache: the clips read and every stage run."""
    times = []
    for index in range(repeat):
        effect = HeadBlendEffect("general", params.replace(tau=0.3 + 0.01 * index))
        start = time.perf_counter()
        effect.render_stages(session.source, frame, scale)
        times.append(1e3 * (time.perf_counter() - start))
    return times


def load_text() -> str:
    return "load average {:.2f} {:.2f} {:.2f} (1, 5, 15 min)".format(*os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--proxies", type=float, nargs="+", default=[1.0, 0.5, 0.25])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.threads:
        torch.set_num_threads(args.threads)

    width, height = size_text(args.size)
    folder = Path(tempfile.mkdtemp(prefix="changer-review-bench-"))
    shot = make_demo_shot(folder / "shot", 1, (width, height))
    weights, described = weights_for(folder)
    options = RenderOptions(target=shot.target, source=shot.source, target_matte=shot.target_matte,
                            source_matte=shot.source_matte, background=shot.background, out="",
                            sets=(f"weights={weights}", "device=cpu"))
    session = ReviewSession(options)
    app = application()
    print(f"review latency at {width}x{height}, CPU ({torch.get_num_threads()} torch threads, {os.cpu_count()} cores), "
          f"network {session.params['network_resolution']} px, weights: {described}; median of {args.repeat} (min-max)")
    print(f"before: {load_text()}")
    print(f"{'change':12} {'proxy':>6} {'median ms':>10} {'min-max ms':>14} {'aim ms':>7} {'re-ran':>8}  "
          "products made for the last (ms)")
    for scale in args.proxies:
        window = ReviewWindow(session, proxy=scale)
        window.show()
        wait_shown(app, window)
        for name, key in (("clip_black", "keyer-only"), ("tau", "tau")):
            change(app, window, name, 0.011 if name == "clip_black" else 0.45)  # warm-up
            times = [change(app, window, name, (0.02 if name == "clip_black" else 0.3) + 0.013 * index)
                     for index in range(args.repeat)]
            rendered = window.reply.rendered
            made = ", ".join(f"{product} {1e3 * s:.0f}" for product, s in rendered.seconds.items())
            print(f"{key:12} {scale:>6g} {statistics.median(times):>10.0f} {min(times):>6.0f}-{max(times):<7.0f} "
                  f"{AIMS_MS[key]:>7.0f} {rendered.stage:>8}  {made}")
        base = baseline_ms(session, session.frames[0], window.params, scale, args.repeat)
        print(f"{'no cache':12} {scale:>6g} {statistics.median(base):>10.0f} {min(base):>6.0f}-{max(base):<7.0f} "
              f"{'':>7} {'all':>8}  read + prepare + infer + comp (no display)")
        window.close()
    print(f"after: {load_text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

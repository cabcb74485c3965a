"""Stage progress and timings for long pipelines.

A tqdm bar over named stages, shown only when ``progress`` is True, or when it is
None (auto) and stderr is a terminal; tqdm's ``delay`` keeps it hidden for work that
ends within ``delay`` seconds (1 by default). A background thread redraws it twice a second, so its clock
keeps running inside a long stage (the kernels release the GIL), and :meth:`note`
shows counts within a stage (e.g. the solves of an eigen-solve). Stage timings always
go to the module logger at INFO level (``o3d-meshless -v`` shows them).
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from contextlib import contextmanager

logger = logging.getLogger("o3d_meshless")


class Stages:
    """Context-managed stages: ``with st("frames"): ...``; ``st.timings`` keeps seconds."""

    def __init__(self, total, *, desc, progress=None, delay=1.0):
        enabled = progress if progress is not None else sys.stderr.isatty()
        self.timings = {}
        self._bar = None
        self._stage = ""
        self._stop = threading.Event()
        self._desc = desc
        if enabled:
            from tqdm.auto import tqdm

            # total None (steps not known ahead): the stage's name and the clock only
            count = ": {n_fmt}/{total_fmt} " if total else ""
            self._bar = tqdm(total=total, desc=desc, delay=float(delay), leave=False,
                             bar_format="{desc}" + count + "{postfix} [{elapsed}]")
            threading.Thread(target=self._tick, daemon=True).start()

    def _tick(self):
        while not self._stop.wait(0.5):
            bar = self._bar
            if bar is None:
                return
            try:
                bar.refresh()
            except Exception:  # pragma: no cover - a closed bar
                return

    def note(self, text):
        """Show ``text`` beside the current stage's name (e.g. ``"120 solves"``)."""
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self._stage}, {text}", refresh=False)

    @contextmanager
    def __call__(self, name):
        self._stage = name
        if self._bar is not None:
            self._bar.set_postfix_str(name)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            self.timings[name] = self.timings.get(name, 0.0) + dt
            logger.info("%s: %s %.3f s", self._desc, name, dt)
            if self._bar is not None:
                self._bar.update(1)

    def clear(self):
        """Wipe the bar's line before other text is printed; the next tick redraws it."""
        bar = self._bar
        if bar is not None:
            bar.clear()

    def close(self):
        self._stop.set()
        if self._bar is not None:
            bar, self._bar = self._bar, None
            bar.close()

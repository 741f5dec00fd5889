"""planhat_common.runtime.tune_gc: what the command lines change in the interpreter."""

from __future__ import annotations

import gc
import subprocess
import sys

from planhat_common.runtime import GC_THRESHOLD0, tune_gc


def test_tune_gc_raises_only_the_first_threshold() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == (GC_THRESHOLD0, before[1], before[2])
    finally:
        gc.set_threshold(*before)


def test_importing_the_plugins_leaves_the_collector_alone() -> None:
    # Compared with the same interpreter's own default (700 up to 3.12, 2000 from 3.13).
    code = (
        "import gc; before = gc.get_threshold(); "
        "import tap_planhat.tap, target_planhat.target; print(before == gc.get_threshold())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"

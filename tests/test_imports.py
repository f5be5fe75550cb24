"""The core never imports Ray: only clsweep.tune may (the trainer must run without it)."""

from __future__ import annotations

import subprocess
import sys


def test_core_does_not_import_ray() -> None:
    code = (
        "import sys, clsweep, clsweep.cli, clsweep.config, clsweep.loading, clsweep.errors, clsweep.training.run, "
        "clsweep.metrics, clsweep.preflight, clsweep.sweep.resources, clsweep.training.faults, "
        "clsweep.approaches, clsweep.models, clsweep.tasks.task, clsweep.result\n"
        "leaked = sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.'))\n"
        "assert not leaked, leaked\n"
        "assert 'torch' in sys.modules  # the imports above really loaded the training stack\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

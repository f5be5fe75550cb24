"""Observer test fixtures: the fake NVML module installed as `pynvml`."""

from __future__ import annotations

import sys

import pytest
from fake_nvml import FakeGpu  # tests/observe is on sys.path (no __init__.py)


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> FakeGpu:
    gpu = FakeGpu()
    monkeypatch.setitem(sys.modules, "pynvml", gpu.module())
    return gpu

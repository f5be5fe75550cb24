"""Observers that report a continual run to external tools (TensorBoard); they never change training."""

from __future__ import annotations

from clsweep.observe.tensorboard import TensorBoardCallback

__all__ = ["TensorBoardCallback"]

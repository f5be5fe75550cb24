"""Models: backbones, task heads and the multi-head CLModel."""

from clsweep.models.clmodel import CLModel, HeadSpec, build_model, task_loss

__all__ = ["CLModel", "HeadSpec", "build_model", "task_loss"]

"""The approach registry, filled by explicit imports (one approach per module)."""

from clsweep.approaches.base import Approach, NoParams, TaskEnv
from clsweep.approaches.ewc import EWC
from clsweep.approaches.finetune import Finetune
from clsweep.approaches.joint import Joint
from clsweep.registry import Registry

APPROACHES: Registry[type[Approach]] = Registry("approach")
for _cls in (Finetune, EWC, Joint):
    APPROACHES.add(_cls.name, _cls)

__all__ = ["APPROACHES", "Approach", "NoParams", "TaskEnv"]

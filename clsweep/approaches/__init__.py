"""The approach registry, filled by explicit imports (one approach per module)."""

from clsweep.approaches.agem import AGEM
from clsweep.approaches.base import Approach, NoParams, TaskEnv
from clsweep.approaches.derpp import DERpp
from clsweep.approaches.ewc import EWC
from clsweep.approaches.finetune import Finetune
from clsweep.approaches.independent import Independent
from clsweep.approaches.joint import Joint
from clsweep.approaches.l2 import L2
from clsweep.approaches.lora import LoRA
from clsweep.approaches.lwf import LwF
from clsweep.approaches.olora import OLoRA
from clsweep.approaches.probe import Probe
from clsweep.approaches.progressive_prompts import ProgressivePrompts
from clsweep.approaches.prompt_tuning import PromptTuning
from clsweep.approaches.replay import Replay
from clsweep.approaches.seq_lora import SeqLoRA
from clsweep.registry import Registry

APPROACHES: Registry[type[Approach]] = Registry("approach")
for _cls in (Finetune, EWC, Joint, L2, LwF, Replay, AGEM, DERpp, LoRA, PromptTuning, Independent, Probe, SeqLoRA,
             OLoRA, ProgressivePrompts):
    APPROACHES.add(_cls.name, _cls)

__all__ = ["APPROACHES", "Approach", "NoParams", "TaskEnv"]

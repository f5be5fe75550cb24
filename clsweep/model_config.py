"""The `model:` section of an experiment: the backbone, its tokenizer's limits, and the tiny backbones' settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from clsweep.backbones import TINY_LMS
from clsweep.schema import Strict


class TinyBackbone(Strict):
    """Size of the built-in random-init BERT used by tests and the demo."""

    hidden_size: int = Field(64, ge=8)
    num_layers: int = Field(2, ge=1)
    num_heads: int = Field(2, ge=1)
    intermediate_size: int = Field(128, ge=8)
    dropout: float = Field(0.1, ge=0, lt=1)


class TinyPretrain(Strict):
    """A short pre-training of a tiny generative LM (tiny-t5, tiny-gpt2) on unlabelled synthetic text: copying a
    sentence or continuing it. A function of these settings alone (initialised from `seed`, one thread), cached
    like the tokenization; every run starts from it."""

    steps: int = Field(400, ge=1)
    batch_size: int = Field(32, ge=1)
    # 1e-3: after 1000 steps the held-out loss of this objective is 3.14 (tiny-gpt2) and 4.48 (tiny-t5) against
    # 3.24 and 4.98 at 3e-3 (the default until 2026-12-02) and 4.16 and 4.89 at 3e-4.
    lr: float = Field(1e-3, gt=0)
    seed: int = Field(0, description="its own seed: like a released checkpoint, one pre-trained LM for all runs")


class ModelConfig(Strict):
    backbone: str = Field("tiny", description="'tiny' (BERT), 'tiny-t5' or 'tiny-gpt2' (for text2text tasks), "
                                               "a hub model id, or a local directory")
    revision: str | None = None
    trust_remote_code: bool = False
    pooling: Literal["cls", "mean"] = "cls"
    max_length: int = Field(64, ge=4)
    head_dropout: float = Field(0.1, ge=0, lt=1)
    tiny: TinyBackbone = TinyBackbone()
    pretrain: TinyPretrain | None = Field(None, description="tiny-t5 and tiny-gpt2 only: start from a short "
                                                           "pre-training on synthetic text instead of random weights")

    @model_validator(mode="after")
    def _pretrain_tiny_lm(self) -> ModelConfig:
        if self.pretrain is not None and self.backbone not in TINY_LMS:
            raise ValueError(f"pretrain is for the tiny generative LMs ({', '.join(TINY_LMS)}); backbone "
                             f"{self.backbone} comes pre-trained or not by itself")
        return self

    @field_validator("backbone")
    @classmethod
    def _local_folder(cls, v: str, info: ValidationInfo) -> str:
        # A path (./, ../, ~, /) is a local model folder relative to the experiment file; anything else a hub id.
        if not v.startswith(("./", "../", "~", "/")):
            return v
        base = (info.context or {}).get("config_dir")
        p = Path(v).expanduser()
        p = p if p.is_absolute() or base is None else Path(base) / p
        if base is not None and not p.is_dir():
            raise ValueError(f"model folder not found: {p}; give a local folder with config.json, a hub id, or tiny")
        return str(p)

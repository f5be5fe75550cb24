"""Load a backbone and the tokenizer that belongs to it: the built-in tiny one, a hub id or a local directory."""

from __future__ import annotations

from typing import Any

from clsweep.models.tiny import tiny_backbone, tiny_tokenizer


def load_tokenizer(model_cfg: Any) -> Any:
    if model_cfg.backbone == "tiny":
        return tiny_tokenizer()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(
        model_cfg.backbone, revision=model_cfg.revision, trust_remote_code=model_cfg.trust_remote_code
    )


def load_backbone(model_cfg: Any, tokenizer: Any = None) -> tuple[Any, Any]:
    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(model_cfg)
    if model_cfg.backbone == "tiny":
        return tiny_backbone(model_cfg.tiny, len(tokenizer), model_cfg.max_length), tokenizer
    from transformers import AutoModel

    model = AutoModel.from_pretrained(
        model_cfg.backbone, revision=model_cfg.revision, trust_remote_code=model_cfg.trust_remote_code
    )
    return model, tokenizer

"""Load a backbone and the tokenizer that belongs to it: a built-in tiny one, a hub id or a local directory.

Encoder tasks get the bare encoder (heads are clsweep's); text2text tasks get the whole language model, its LM
head included: a seq2seq model when the config says encoder-decoder, else a causal LM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clsweep.backbones import TINY_LMS
from clsweep.models.tiny import tiny_backbone, tiny_lm, tiny_tokenizer


def load_tokenizer(model_cfg: Any) -> Any:
    if model_cfg.backbone == "tiny":
        return tiny_tokenizer()
    if model_cfg.backbone in TINY_LMS:
        return tiny_tokenizer(generative=True)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(
        model_cfg.backbone, revision=model_cfg.revision, trust_remote_code=model_cfg.trust_remote_code
    )
    if getattr(tok, "pad_token", "") is None and getattr(tok, "eos_token", None) is not None:
        tok.pad_token = tok.eos_token  # decoder-only LMs (GPT-2, Llama) define none; the mask hides padding
    return tok


def load_backbone(model_cfg: Any, tokenizer: Any = None, generative: bool = False,
                  cache_dir: Path | None = None) -> tuple[Any, Any]:
    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(model_cfg)
    if model_cfg.backbone == "tiny":
        return tiny_backbone(model_cfg.tiny, len(tokenizer), model_cfg.max_length), tokenizer
    if model_cfg.backbone in TINY_LMS:
        lm = tiny_lm(model_cfg.backbone, model_cfg.tiny, tokenizer, model_cfg.max_length)
        if model_cfg.pretrain is not None:
            from clsweep.models.pretrain import load_or_pretrain
            from clsweep.tasks.cache import default_cache_dir

            lm = load_or_pretrain(lm, tokenizer, model_cfg, cache_dir or default_cache_dir(None))
        return lm, tokenizer
    import transformers

    kwargs = {"revision": model_cfg.revision, "trust_remote_code": model_cfg.trust_remote_code}
    if not generative:
        return transformers.AutoModel.from_pretrained(model_cfg.backbone, **kwargs), tokenizer
    config = transformers.AutoConfig.from_pretrained(model_cfg.backbone, **kwargs)
    auto = transformers.AutoModelForSeq2SeqLM if config.is_encoder_decoder else transformers.AutoModelForCausalLM
    return auto.from_pretrained(model_cfg.backbone, **kwargs), tokenizer

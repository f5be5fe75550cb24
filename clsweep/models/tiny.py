"""The built-in tiny backbones (random-init BERT, T5 and GPT-2) and a WordPiece tokenizer that needs no download."""

from __future__ import annotations

import string
from typing import Any

from clsweep.tasks.synthetic import VOCABULARY

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_CHARS = string.ascii_lowercase + string.digits + string.punctuation


def tiny_vocabulary() -> list[str]:
    # Synthetic words are whole tokens; any other ASCII text falls back to characters, so local
    # files in tests and demos tokenize without [UNK] floods.
    return SPECIALS + VOCABULARY + list(_CHARS) + ["##" + c for c in _CHARS]


# Whole-word entries for the generative tokenizer only (the BERT vocabulary above stays as it is): the words of
# instructions and label names (O-LoRA's and the synthetic suite's), so a prompt is not spelled out letter by
# letter. Any other word still falls back to characters.
_PROMPT_TEXT = """
a according album and animal answer artist arts ask athlete b bad between book both building business cancel
candidate casual choose company contradiction does educational entailment false film first following formal
from given good group have holder in institution is logical mean meaning natural negative neutral no of office
one option or paragraph passage place plant positive question relationship same science second sense sentence
sentences sentiment sports technology the to topic transportation travel true two used user very village want
what whether with word work world written yes
"""
PROMPT_WORDS = sorted(set(_PROMPT_TEXT.split()) - set(VOCABULARY))


def tiny_tokenizer(generative: bool = False) -> Any:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    base = tiny_vocabulary()
    known = set(base)
    vocab = {tok: i for i, tok in enumerate(base + ([w for w in PROMPT_WORDS if w not in known] if generative else []))}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=64))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]
    if generative:  # [CLS] opens a prompt (a BOS); [SEP] ends a target (the EOS generation stops at)
        tok.post_processor = processors.TemplateProcessing(single="[CLS] $A", pair="[CLS] $A $B:1",
                                                           special_tokens=[("[CLS]", cls_id)])
    else:
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
        )
    tok.decoder = decoders.WordPiece()
    if generative:
        return PreTrainedTokenizerFast(
            tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", bos_token="[CLS]", eos_token="[SEP]",
            mask_token="[MASK]", model_input_names=["input_ids", "attention_mask"], name_or_path="clsweep-tiny-lm")
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
        name_or_path="clsweep-tiny",
    )


def tiny_positions(max_length: int) -> int:
    """The position table the tiny BERT and GPT-2 are built with: 128, or the longest task (T5 has none)."""
    return max(128, max_length)


def tiny_backbone(size: Any, vocab_size: int, max_length: int) -> Any:
    """A BertModel from a config (random init; seed torch first for reproducible weights)."""
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=size.hidden_size,
        num_hidden_layers=size.num_layers,
        num_attention_heads=size.num_heads,
        intermediate_size=size.intermediate_size,
        hidden_dropout_prob=size.dropout,
        attention_probs_dropout_prob=size.dropout,
        max_position_embeddings=tiny_positions(max_length),
        type_vocab_size=2,
    )
    return BertModel(config, add_pooling_layer=False)


def tiny_lm(kind: str, size: Any, tokenizer: Any, max_positions: int) -> Any:
    """A random-init T5 (encoder-decoder) or GPT-2 (decoder-only) LM of the tiny BERT's size."""
    ids = {"pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id,
           "bos_token_id": tokenizer.bos_token_id}
    if kind == "tiny-t5":
        from transformers import T5Config, T5ForConditionalGeneration

        ids["decoder_start_token_id"] = tokenizer.pad_token_id  # T5's convention: the decoder starts at pad
        t5 = T5Config(vocab_size=len(tokenizer), d_model=size.hidden_size, d_kv=size.hidden_size // size.num_heads,
                      d_ff=size.intermediate_size, num_layers=size.num_layers, num_heads=size.num_heads,
                      dropout_rate=size.dropout, **ids)
        return T5ForConditionalGeneration(t5)
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt2 = GPT2Config(vocab_size=len(tokenizer), n_positions=tiny_positions(max_positions), n_embd=size.hidden_size,
                      n_layer=size.num_layers, n_head=size.num_heads, n_inner=size.intermediate_size,
                      resid_pdrop=size.dropout, embd_pdrop=size.dropout, attn_pdrop=size.dropout, **ids)
    return GPT2LMHeadModel(gpt2)

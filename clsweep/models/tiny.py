"""The built-in `tiny` backbone: a small random-init BERT and a WordPiece tokenizer that needs no download."""

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


def tiny_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(tiny_vocabulary())}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=64))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.WordPiece()
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
        max_position_embeddings=max(128, max_length),
        type_vocab_size=2,
    )
    return BertModel(config, add_pooling_layer=False)

"""CLModel: heads per task, shared by name; pooling ignores padding; init follows the seed."""

from __future__ import annotations

import torch

from clsweep.config import ModelConfig, TinyBackbone
from clsweep.models import CLModel, HeadSpec, build_model
from clsweep.models.tiny import tiny_backbone, tiny_tokenizer

SMALL = TinyBackbone(hidden_size=16, intermediate_size=32, dropout=0.0)


def _model(heads: dict[str, HeadSpec], pooling: str = "cls") -> CLModel:
    torch.manual_seed(0)
    return CLModel(tiny_backbone(SMALL, vocab_size=40, max_length=16), heads, pooling, 0.0).eval()


def test_tasks_naming_the_same_head_share_it() -> None:
    heads = {"a": HeadSpec("a", "shared", "sequence", 3), "b": HeadSpec("b", "shared", "sequence", 3),
             "c": HeadSpec("c", "c", "token", 5)}
    model = _model(heads)
    assert set(model.heads) == {"shared", "c"}
    batch = {"input_ids": torch.randint(5, 40, (2, 7)), "attention_mask": torch.ones(2, 7, dtype=torch.long)}
    assert torch.equal(model("a", batch), model("b", batch))
    assert model("a", batch).shape == (2, 3)
    assert model("c", batch).shape == (2, 7, 5)


def test_mean_pooling_ignores_padding() -> None:
    model = _model({"a": HeadSpec("a", "a", "sequence", 2)}, pooling="mean")
    ids = torch.randint(5, 40, (1, 6))
    plain = {"input_ids": ids, "attention_mask": torch.ones(1, 6, dtype=torch.long)}
    padded = {"input_ids": torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], 1),
              "attention_mask": torch.cat([torch.ones(1, 6), torch.zeros(1, 4)], 1).long()}
    assert torch.allclose(model("a", plain), model("a", padded), atol=1e-5)


def test_build_model_is_seeded_and_tokenizer_needs_no_download() -> None:
    cfg = ModelConfig(tiny=SMALL)
    heads = {"a": HeadSpec("a", "a", "sequence", 2)}
    tok = tiny_tokenizer()
    m1, _ = build_model(cfg, heads, seed=3, tokenizer=tok)
    m2, _ = build_model(cfg, heads, seed=3, tokenizer=tok)
    m3, _ = build_model(cfg, heads, seed=4, tokenizer=tok)
    s1, s2, s3 = m1.state_dict(), m2.state_dict(), m3.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert not all(torch.equal(s1[k], s3[k]) for k in s1)
    enc = tok("Hello, wörld 42", "second")
    assert tok.unk_token_id not in enc["input_ids"]  # any ASCII text falls back to characters
    assert enc["token_type_ids"][-1] == 1
    expected = {f"backbone.{n}" for n, _ in m1.backbone.named_parameters()}
    assert {name for name, _ in m1.backbone_parameters()} == expected

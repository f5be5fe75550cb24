"""GenerativeLM against independent computations: the target logits of its padded, batched layout equal the
plain HF model's on each example alone, and its batched greedy decoding equals a hand-written argmax loop."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch

from clsweep.models.generative import GenerativeLM
from clsweep.models.tiny import tiny_lm, tiny_tokenizer
from clsweep.tasks.task import Split
from clsweep.training.batching import collate

SIZE = SimpleNamespace(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, dropout=0.0)
PROMPTS = ["what is the topic of the following paragraph", "sports", "the first sentence and the second one here"]
TARGETS = ["science", "no", "very positive"]


def _model(kind: str) -> GenerativeLM:
    torch.manual_seed(0)
    tok = tiny_tokenizer(generative=True)
    return GenerativeLM(tiny_lm(kind, SIZE, tok, 64), ["a"], tok).eval()


def _split(tok: Any) -> Split:
    ids = [tok(p)["input_ids"] for p in PROMPTS]
    targets = [tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for t in TARGETS]
    return Split(ids, None, [0, 0, 0], PROMPTS, targets)


def _alone(model: GenerativeLM, prompt: list[int], target: list[int]) -> torch.Tensor:
    """Target logits of one unpadded example, the way the HF docs lay it out."""
    lm: Any = model.backbone
    if model.encoder_decoder:
        return lm(input_ids=torch.tensor([prompt]), labels=torch.tensor([target])).logits[0]
    seq = torch.tensor([prompt + target])
    return lm(input_ids=seq).logits[0, len(prompt) - 1 : len(prompt) - 1 + len(target)]


@pytest.mark.parametrize("kind", ["tiny-t5", "tiny-gpt2"])
def test_batched_target_logits_equal_each_example_alone(kind: str) -> None:
    model = _model(kind)
    split = _split(model.tokenizer)
    batch = collate(split, [0, 1, 2], model.pad_id, torch.device("cpu"))
    with torch.no_grad():
        logits = model("a", batch)
        assert logits.shape[:2] == batch["labels"].shape
        for i in range(3):
            n = len(split.targets[i])  # type: ignore[index]
            alone = _alone(model, split.input_ids[i], split.targets[i])  # type: ignore[index]
            torch.testing.assert_close(logits[i, :n], alone, atol=1e-4, rtol=1e-4)


def _greedy_alone(model: GenerativeLM, prompt: list[int], steps: int) -> list[int]:
    """Greedy decoding by hand: append the argmax token until EOS or `steps` tokens."""
    lm: Any = model.backbone
    out: list[int] = []
    for _ in range(steps):
        with torch.no_grad():
            if model.encoder_decoder:
                dec = torch.tensor([[model.pad_id, *out]])
                nxt = int(lm(input_ids=torch.tensor([prompt]), decoder_input_ids=dec).logits[0, -1].argmax())
            else:
                nxt = int(lm(input_ids=torch.tensor([prompt + out])).logits[0, -1].argmax())
        if nxt == model.eos_id:
            break
        out.append(nxt)
    return out


@pytest.mark.parametrize("kind", ["tiny-t5", "tiny-gpt2"])
def test_batched_greedy_decoding_equals_a_hand_written_loop(kind: str) -> None:
    model = _model(kind)
    split = _split(model.tokenizer)
    batch = collate(split, [0, 1, 2], model.pad_id, torch.device("cpu"))
    rows, conf = model.generate("a", batch, max_new_tokens=6, scores=True)
    assert rows == [_greedy_alone(model, split.input_ids[i], 6) for i in range(3)]
    assert conf is not None and all(0.0 < c <= 1.0 for c in conf)


def test_the_loss_on_target_tokens_equals_hf_seq2seq_loss() -> None:
    from clsweep.models import task_loss

    model = _model("tiny-t5")
    split = _split(model.tokenizer)
    batch = collate(split, [0], model.pad_id, torch.device("cpu"))
    lm: Any = model.backbone
    with torch.no_grad():
        ours = task_loss(model("a", batch), batch["labels"])
        theirs = lm(input_ids=batch["input_ids"], labels=batch["labels"]).loss
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("kind", ["tiny-t5", "tiny-gpt2"])
def test_a_soft_prompt_goes_before_every_input_in_training_and_decoding(kind: str) -> None:
    model = _model(kind)
    lm: Any = model.backbone
    soft = torch.randn(3, SIZE.hidden_size, generator=torch.Generator().manual_seed(1))
    model.prefix = lambda task: soft
    split = _split(model.tokenizer)
    batch = collate(split, [0, 1, 2], model.pad_id, torch.device("cpu"))
    embed = lm.get_input_embeddings()
    with torch.no_grad():
        logits = model("a", batch)
        for i in range(3):
            prompt, target = split.input_ids[i], split.targets[i]  # type: ignore[index]
            if model.encoder_decoder:
                e = torch.cat([soft, embed(torch.tensor(prompt))])[None]
                alone = lm(inputs_embeds=e, labels=torch.tensor([target])).logits[0]
            else:
                e = torch.cat([soft, embed(torch.tensor(prompt + target))])[None]
                alone = lm(inputs_embeds=e).logits[0, 3 + len(prompt) - 1: 3 + len(prompt) - 1 + len(target)]
            torch.testing.assert_close(logits[i, : len(target)], alone, atol=1e-4, rtol=1e-4)
    rows, _ = model.generate("a", batch, max_new_tokens=4)
    for i in range(3):  # greedy by hand, with the soft prompt in front
        out: list[int] = []
        for _ in range(4):
            with torch.no_grad():
                e = torch.cat([soft, embed(torch.tensor(split.input_ids[i] + ([] if model.encoder_decoder else out)))])
                if model.encoder_decoder:
                    dec = torch.tensor([[model.pad_id, *out]])
                    nxt = int(lm(inputs_embeds=e[None], decoder_input_ids=dec).logits[0, -1].argmax())
                else:
                    nxt = int(lm(inputs_embeds=e[None]).logits[0, -1].argmax())
            if nxt == model.eos_id:
                break
            out.append(nxt)
        assert rows[i] == out

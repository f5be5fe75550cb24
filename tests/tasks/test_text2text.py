"""text2text tasks: the template renders as written, long prompts lose text but never the answer prefix,
targets end in EOS, labels are compared as the model writes them, and bad templates or labels exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hub_fixtures import hub_overrides

from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError
from clsweep.loading import load_raw, validate
from clsweep.metrics.task_metrics import compute_metrics
from clsweep.models.tiny import tiny_tokenizer
from clsweep.tasks.cache import tokenizer_fingerprint
from clsweep.tasks.columns import RawSplit
from clsweep.tasks.errors import TaskErrors
from clsweep.tasks.sources import load_splits
from clsweep.tasks.spec import TaskSpec
from clsweep.tasks.task import _plan, prepare_tasks
from clsweep.tasks.template import Template
from clsweep.tasks.text2text import encode_text2text, label_forms, label_problems, normalize, render

SYN = {"kind": "synthetic", "train_size": 32, "dev_size": 8, "test_size": 8, "seed": 0}


def _spec(**kw: Any) -> TaskSpec:
    return TaskSpec.model_validate({"name": "t", "type": "text2text", "source": {**SYN, "task": "topic"}, **kw})


def test_the_default_template_is_olora_layout() -> None:
    t = Template(instruction="What is the topic of the following paragraph? Choose one from the option.")
    assert t.render("a text", ["world", "sports"]) == (
        "What is the topic of the following paragraph? Choose one from the option.\n"
        "Option: world, sports \na text\nAnswer:")


@pytest.mark.parametrize(("fmt", "says"), [("{instruction} Answer:", "must contain {text}"),
                                           ("{text} {label}", "unknown field(s) label"),
                                           ("{text", "not a valid template")])
def test_bad_formats_are_refused(fmt: str, says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)").replace("{", r"\{")):
        Template(format=fmt)


def test_a_long_prompt_keeps_its_answer_prefix_and_targets_end_in_eos() -> None:
    tok = tiny_tokenizer(generative=True)
    spec = _spec(template={"instruction": "what is the topic"})
    raw = RawSplit(["sports " * 50, "science"], None, ["sports", "science"])
    enc = encode_text2text(tok, spec, raw, [1, 0], ["science", "sports"], max_length=24)
    long, short = enc["input_ids"]
    assert len(long) == 24 and enc["lengths"][0] > 24
    answer = tok("\nanswer:", add_special_tokens=False)["input_ids"]
    assert long[-len(answer):] == answer and short[-len(answer):] == answer
    assert tok.decode(short, skip_special_tokens=True).startswith("what is the topic")
    assert enc["targets"] == [tok("sports", add_special_tokens=False)["input_ids"] + [tok.eos_token_id],
                              tok("science", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]]


@pytest.mark.parametrize("fmt", ["{instruction}\nquestion: {text}\npassage: {text_pair}\nAnswer:",
                                 "{instruction}\n{text}\nAnswer:"])
def test_a_long_pair_is_cut_longest_first_and_keeps_both_parts_in_place(fmt: str) -> None:
    """A BoolQ-like pair: a short question, a long passage. The passage loses its end (longest first, as
    tokenizers cut sentence pairs); the question stays whole and in its own slot of the template."""
    tok = tiny_tokenizer(generative=True)
    spec = _spec(template={"instruction": "what is the topic", "format": fmt}, text_pair_column="p")
    question, passage = "is the answer yes", " ".join(["sports science"] * 30)
    raw = RawSplit([question], [passage], ["yes"])
    enc = encode_text2text(tok, spec, raw, [0], ["no", "yes"], max_length=30)
    (ids,) = enc["input_ids"]
    assert len(ids) == 30 and enc["lengths"][0] > 30
    prompt = tok.decode(ids, skip_special_tokens=True)
    if "passage" in fmt:
        assert "question : is the answer yes passage : sports science sports" in prompt, prompt
    else:
        assert "is the answer yes sports science sports" in prompt, prompt
    assert prompt.endswith("answer :")


def test_the_generative_tiny_tokenizer_numbers_its_vocabulary_densely() -> None:
    tok = tiny_tokenizer(generative=True)
    assert sorted(tok.get_vocab().values()) == list(range(len(tok)))
    assert len(tok("what is the topic", add_special_tokens=False)["input_ids"]) == 4  # whole words, not letters


def test_labels_are_compared_as_the_tokenizer_writes_them() -> None:
    tok = tiny_tokenizer(generative=True)
    assert label_forms(tok, ["B-LOC", "Very Positive"]) == ["b - loc", "very positive"]
    assert normalize("  Very\n positive ") == "very positive"
    assert label_problems(tok, ["sports", "Sports"]) == ["labels 'sports' and 'Sports' both decode to 'sports'"]
    assert "cannot produce" in label_problems(tok, ["日本", "x"])[0]


def test_text2text_metrics_by_hand() -> None:
    gold, pred = ["sports", "world", "science", "world"], ["sports", "science", "banana", ""]
    got = compute_metrics(["accuracy", "invalid_rate"], "text2text", gold, pred, ["sports", "world", "science"])
    assert got == {"accuracy": 0.25, "invalid_rate": 0.5}
    # ROUGE-L F1: LCS("the cat sat", "the cat") = 2 words; P = 1, R = 2/3, F = 0.8; identical strings: 1.
    got = compute_metrics(["exact_match", "rouge_l"], "text2text", ["the cat sat", "a b"], ["the cat", "a b"], [])
    assert got["exact_match"] == 0.5
    assert got["rouge_l"] == pytest.approx((0.8 + 1.0) / 2)


def _cfg(tmp_path: Path, tasks: dict[str, Any], **extra: Any) -> ExperimentConfig:
    return ExperimentConfig.model_validate({"tasklist": {"tasks": tasks}, "model": {"backbone": "tiny-t5"},
                                            "run": {"cache_dir": str(tmp_path)}, **extra})


def test_a_label_the_tokenizer_cannot_write_is_a_config_error(tmp_path: Path) -> None:
    rows = "".join(f'{{"text": "w{i}", "label": "{lab}"}}\n' for i in range(8) for lab in ("日本", "ok"))
    (tmp_path / "d.jsonl").write_text(rows, encoding="utf-8")
    cfg = _cfg(tmp_path, {"jp": {"type": "text2text", "source": {"kind": "files", "train": str(tmp_path / "d.jsonl")}}})
    with pytest.raises(ConfigError) as e:
        prepare_tasks(cfg, tiny_tokenizer(generative=True), cache_dir=tmp_path)
    assert "tasklist.tasks.jp.labels" in str(e.value) and "cannot produce" in str(e.value)


def test_a_text2text_tasklist_runs_in_the_generative_scenario(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"t": {"type": "text2text", "source": {**SYN, "task": "topic"}}})
    assert cfg.scenario == "generative"
    with pytest.raises(ValueError, match="valid here: generative"):
        _cfg(tmp_path, {"t": {"type": "text2text", "source": {**SYN, "task": "topic"}}}, scenario="task_il")
    with pytest.raises(ValueError, match="every task must be text2text; not: s"):
        _cfg(tmp_path, {"t": {"type": "text2text", "source": {**SYN, "task": "topic"}},
                        "s": {"source": {**SYN, "task": "topic"}}})


def test_free_text_targets_come_from_their_column(tmp_path: Path) -> None:
    rows = "".join(f'{{"q": "sports {i}", "a": "the answer is {i}"}}\n' for i in range(20))
    (tmp_path / "qa.jsonl").write_text(rows, encoding="utf-8")
    cfg = _cfg(tmp_path, {"qa": {"type": "text2text", "text_column": "q", "target_column": "a",
                                 "source": {"kind": "files", "train": str(tmp_path / "qa.jsonl")}}})
    task = prepare_tasks(cfg, tiny_tokenizer(generative=True), cache_dir=tmp_path, log=lambda m: None)["qa"]
    assert task.metric_names == ["exact_match", "rouge_l"] and task.labels == []
    tok = tiny_tokenizer(generative=True)
    split = task.splits["train"]
    assert split.targets is not None
    decoded = [tok.decode(t[:-1]) for t in split.targets]
    assert all(d.startswith("the answer is") for d in decoded) and all(t[-1] == tok.eos_token_id
                                                                       for t in split.targets)


def test_the_long_sequence_tasklist_writes_every_task_as_a_prompt() -> None:
    from clsweep.loading import read_tasklist
    from clsweep.tasks.spec import Tasklist

    path = Path(__file__).resolve().parents[2] / "tasklists" / "pp15_text2text.yaml"
    tl = Tasklist.model_validate(read_tasklist(path), context={"base_dir": path.parent})
    assert len(tl.tasks) == 15 and {s.type for s in tl.tasks.values()} == {"text2text"}
    assert set(tl.orders) == {"order4", "order5", "order6"}
    two_texts = {n for n, s in tl.tasks.items() if s.pair_cols}
    for name, spec in tl.tasks.items():
        if name != "copa":  # O-LoRA gives COPA no instruction: its question names the choices
            assert spec.prompt.instruction.endswith("Choose one from the option."), name
        if name in two_texts:  # both texts are written into the prompt
            prompt = render(spec, RawSplit(["first text"], ["second text"], [None]), ["x", "y"])[0]
            assert "first text" in prompt and "second text" in prompt and prompt.endswith("Answer:"), name


def test_a_template_that_leaves_no_room_for_the_text_is_a_config_error(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"t": {"type": "text2text", "source": {**SYN, "task": "topic"}, "max_length": 8,
                                "template": {"instruction": "what is the topic of the following paragraph"}}})
    with pytest.raises(ConfigError) as e:
        prepare_tasks(cfg, tiny_tokenizer(generative=True), cache_dir=tmp_path, log=lambda m: None)
    assert "tasklist.tasks.t.max_length" in str(e.value) and "cannot hold the prompt" in str(e.value)


def test_free_text_is_not_scored_as_labels() -> None:
    with pytest.raises(ValueError, match="score it with exact_match and rouge_l"):
        _spec(target_column="a", metrics=["accuracy"])


def test_column_formats_write_the_columns_by_name(tmp_path: Path) -> None:
    rows = "".join(f'{{"w": "bank", "s1": "river {i}", "s2": "money {i}", "label": "{lab}"}}\n'
                   for i in range(4) for lab in ("True", "False"))
    (tmp_path / "wic.jsonl").write_text(rows, encoding="utf-8")
    template = {"format": "{instruction}\nOption: {options} \nword: {text}\n{text_pair}\nAnswer:",
                "pair_format": "{s1}\n{s2}", "instruction": "same sense?"}
    task = {"type": "text2text", "source": {"kind": "files", "train": str(tmp_path / "wic.jsonl")},
            "text_column": "w", "text_pair_column": ["s1", "s2"], "labels": ["True", "False"], "template": template}
    tok = tiny_tokenizer(generative=True)
    spec = _cfg(tmp_path, {"wic": task}).tasklist.tasks["wic"]
    p = _plan(spec, 64, tokenizer_fingerprint(tok), tmp_path, TaskErrors(None, "wic"), tokenizer=tok)
    assert p.raw is not None and p.labels == ["True", "False"]
    raw = p.raw["train"]
    assert raw.pairs is not None
    i = raw.pairs.index("river 0\nmoney 0")  # the two columns written by the format, no 'column:' names
    assert render(spec, raw, p.labels)[i] == "same sense?\nOption: True, False \nword: bank\nriver 0\nmoney 0\nAnswer:"


@pytest.mark.parametrize(("template", "columns", "says"), [
    ({"text_format": "{title} {body}"}, {"text_column": "title"}, "it names body, not among them"),
    ({"text_format": "{title}"}, {"text_column": ["title", "content"]}, "it leaves out content"),
    ({"pair_format": "A: {choice1}"}, {}, "the task has no text_pair_column"),
    ({"text_format": "Text: {}"}, {}, "fields must be column names"),
    ({"text_format": "Text only"}, {}, "name the column(s) it writes"),
])
def test_bad_column_formats_are_refused(template: dict[str, str], columns: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)")):
        _spec(template=template, **columns)


# O-LoRA's prompts, as its released code builds them (cmnfriend/O-LoRA): uie_collator.py prefixes
# "Task:<family>\nDataset:<name>\n" (every script passes --add_task_name and --add_dataset_name), then
# uie_dataset_lora.py writes the family's instruction (configs/instruction_config.json, ending in a newline),
# "Option: " + ", ".join(labels.json) + " \n", the CL_Benchmark sentence and "\nAnswer:"; COPA has no
# instruction and no options. Each task: (family, dataset name, its labels.json, its CL_Benchmark sentence).
OLORA_INSTRUCTIONS = {
    "TC": "What is the topic of the following paragraph? Choose one from the option.\n",
    "SC": "What is the sentiment of the following paragraph? Choose one from the option.\n",
    "NLI": 'What is the logical relationship between the "sentence 1" and the "sentence 2"? Choose one from the '
           "option.\n",
    "QQP": 'Whether the "first sentence" and the "second sentence" have the same meaning? Choose one from the '
           "option.\n",
    "BoolQA": "According to the following passage, is the question true or false? Choose one from the option.\n",
    "MultiRC": "According to the following passage and question, is the candidate answer true or false? Choose one "
               "from the option.\n",
    "WiC": "Given a word and two sentences, whether the word is used with the same sense in both sentence? Choose "
           "one from the option.\n",
}
RATINGS = ["very negative", "negative", "neutral", "positive", "very positive"]
OLORA: dict[str, tuple[str, str, list[str], Any]] = {
    "ag": ("TC", "agnews", ["World", "Sports", "Business", "Science or Technology"],
           lambda r: r["text"]),  # a departure: O-LoRA writes "Title: ...\nText: ...\n" (one Hub column here)
    "yelp": ("SC", "yelp", RATINGS, lambda r: f"Text: {r['text']}\n"),
    "amazon": ("SC", "amazon", RATINGS, lambda r: r["text"]),  # a departure: another corpus, one text column
    "dbpedia": ("TC", "dbpedia", ["Company", "Educational Institution", "Artist", "Athlete", "Office Holder",
                                  "Mean of Transportation", "Building", "Natural Place", "Village", "Animal",
                                  "Plant", "Album", "Film", "Written Work"],
                lambda r: f"Title: {r['title']}\nText: {r['content']}\n"),
    "yahoo": ("TC", "yahoo", ["Society & Culture", "Science & Mathematics", "Health", "Education & Reference",
                              "Computers & Internet", "Sports", "Business & Finance", "Entertainment & Music",
                              "Family & Relationships", "Politics & Government"],
              # a departure: O-LoRA's yahoo file was not checked (see docs/benchmarks.md)
              lambda r: f"question_title: {r['question_title']} question_content: {r['question_content']}\n"
                        f"{r['best_answer']}"),
    "mnli": ("NLI", "MNLI", ["neutral", "entailment", "contradiction"],
             lambda r: f"sentence 1: {r['premise']}\nsentence 2: {r['hypothesis']}"),
    "cb": ("NLI", "CB", ["entailment", "contradiction", "neutral"],
           lambda r: f"sentence 1: {r['premise']}\nsentence 2: {r['hypothesis']}"),
    "rte": ("NLI", "RTE", ["contradiction", "entailment"],
            lambda r: f"sentence 1: {r['sentence1']}\nsentence 2: {r['sentence2']}"),
    "qqp": ("QQP", "QQP", ["False", "True"],
            lambda r: f"first sentence: {r['question1']}\nsecond sentence: {r['question2']}"),
    "sst2": ("SC", "SST-2", ["Good", "Bad"], lambda r: f"Text: {r['sentence']}"),
    "imdb": ("SC", "IMDB", ["Good", "Bad"], lambda r: r["text"]),
    "boolq": ("BoolQA", "BoolQA", ["True", "False"], lambda r: f"question: {r['question']}\npassage: {r['passage']}"),
    "multirc": ("MultiRC", "MultiRC", ["False", "True"],
                lambda r: f"paragraph: {r['paragraph']}\nquestion: {r['question']}\ncandidate answer: {r['answer']}"),
    "wic": ("WiC", "WiC", ["True", "False"], lambda r: f"word: {r['word']}\n{r['sentence1']}\n{r['sentence2']}"),
    "copa": ("COPA", "COPA", ["A", "B"],
             lambda r: f'Which sentence is the {r["question"]} of "{r["premise"]}"? Choose one between A and B.\n'
                       f"A: {r['choice1']}\nB: {r['choice2']}"),
}


def _olora_prompt(task: str, row: dict[str, Any]) -> str:
    family, dataset, labels, sentence = OLORA[task]
    head = f"Task:{family}\nDataset:{dataset}\n"
    if family == "COPA":
        return f"{head}{sentence(row)}\nAnswer:"
    return f"{head}{OLORA_INSTRUCTIONS[family]}Option: {', '.join(labels)} \n{sentence(row)}\nAnswer:"


@pytest.fixture(scope="module", params=["pp4_text2text.yaml", "pp15_text2text.yaml"])
def benchmark_prompts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                      ) -> dict[str, tuple[str, dict[str, Any], list[str]]]:
    """Each task of a text2text benchmark, read from Hub-shaped fixtures: its first test prompt, that row's
    columns and the gold answers of its test split."""
    tmp = tmp_path_factory.mktemp("t2t")
    path = Path(__file__).resolve().parents[2] / "tasklists" / request.param
    exp = tmp / "exp.yaml"
    exp.write_text(yaml.safe_dump({"tasklist": str(path), "model": {"backbone": "tiny-t5"}}))
    raw, sources = load_raw(exp, hub_overrides(path, tmp / "hub"))
    tasks = validate(raw, sources).tasklist.tasks
    assert len(tasks) == (15 if "pp15" in request.param else 4)
    tok = tiny_tokenizer(generative=True)
    out = {}
    for name, spec in tasks.items():
        err = TaskErrors(None, name)
        p = _plan(spec, 512, tokenizer_fingerprint(tok), tmp / "cache", err, tokenizer=tok)
        assert p.raw is not None
        row = load_splits(spec, err, tmp / "cache")[0]["test"][0]
        out[name] = (render(spec, p.raw["test"], p.labels)[0], row, [str(y) for y in p.raw["test"].labels])
    return out


def test_the_benchmark_options_are_in_olora_labels_json_order(
        benchmark_prompts: dict[str, tuple[str, dict[str, Any], list[str]]]) -> None:
    """SST-2 and IMDB "Option: Good, Bad", MNLI "neutral, entailment, contradiction", RTE "contradiction,
    entailment", BoolQ and WiC "True, False" ...; COPA has no options; the gold answers are O-LoRA's strings."""
    wrong = {}
    for name, (prompt, _, golds) in benchmark_prompts.items():
        labels = OLORA[name][2]
        line = "Option:" if name == "copa" else f"\nOption: {', '.join(labels)} \n"
        if (line in prompt) == (name == "copa") or not set(golds) <= set(labels):
            wrong[name] = f"{prompt!r} with answers {sorted(set(golds))}"
    assert not wrong, "".join(f"\n{name}: {why}" for name, why in wrong.items())


def test_the_benchmark_prompts_are_olora_prompts(
        benchmark_prompts: dict[str, tuple[str, dict[str, Any], list[str]]]) -> None:
    """Each task's first test prompt is the string O-LoRA's code writes for that row: the task/dataset lines,
    the instruction, the options, and WiC, MultiRC, COPA, SST-2, Yelp and DBpedia in CL_Benchmark's layouts."""
    wrong = {}
    for name, (prompt, row, _) in benchmark_prompts.items():
        want = _olora_prompt(name, row)
        if prompt != want:
            wrong[name] = f"\n{prompt!r}\n{want!r} (O-LoRA)"
    assert not wrong, "".join(f"\n{name}:{diff}" for name, diff in wrong.items())


def test_olora4_text2text_writes_olora_prompts_from_local_cl_benchmark_files(tmp_path: Path) -> None:
    """tasklists/olora4_text2text.yaml reads CL_Benchmark's own texts (already "Title: ...\\nText: ...") and writes
    O-LoRA's prompt around them; the gold answers are the files' label strings."""
    path = Path(__file__).resolve().parents[2] / "tasklists" / "olora4_text2text.yaml"
    tasklist = yaml.safe_load(path.read_text())
    families = {"agnews": ("TC", "ag"), "dbpedia": ("TC", "dbpedia"), "yelp": ("SC", "yelp"),
                "amazon": ("SC", "amazon")}
    for name, spec in tasklist["tasks"].items():
        labels = OLORA[families[name][1]][2]
        assert spec["labels"] == labels, name
        for split in ("train", "test"):
            rows = [{"text": f"Title: {name} {split} {i}\nText: words {i}\n", "label": labels[i % len(labels)]}
                    for i in range(40 * len(labels))]
            file = tmp_path / "data" / spec["source"][split]
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text("".join(f"{json.dumps(r)}\n" for r in rows))
            spec["source"][split] = str(file)
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump({"tasklist": tasklist, "model": {"backbone": "tiny-gpt2", "max_length": 160}}))
    raw, sources = load_raw(exp, [])
    cfg = validate(raw, sources)
    assert cfg.scenario == "generative"
    assert tasklist["orders"]["olora1"] == ["dbpedia", "amazon", "yelp", "agnews"]
    tok = tiny_tokenizer(generative=True)
    for name, spec in cfg.tasklist.tasks.items():
        err = TaskErrors(None, name)
        p = _plan(spec, 160, tokenizer_fingerprint(tok), tmp_path / "cache", err, tokenizer=tok)
        assert p.raw is not None
        row = load_splits(spec, err, tmp_path / "cache")[0]["test"][0]
        family, dataset = families[name][0], OLORA[families[name][1]][1]
        want = (f"Task:{family}\nDataset:{dataset}\n{OLORA_INSTRUCTIONS[family]}Option: {', '.join(spec.labels or [])}"
                f" \n{row['text']}\nAnswer:")
        assert render(spec, p.raw["test"], p.labels)[0] == want, name
        assert set(map(str, p.raw["test"].labels)) <= set(spec.labels or [])

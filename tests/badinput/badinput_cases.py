"""The bad-input corpus: each case is real files (an experiment, maybe a tasklist and data) and what the
one error message must say: which file, which key path (or line), and what would be valid."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# Tiny synthetic sizes: schema cases never get as far as generating data, but keep it cheap if one did.
SYN = "kind: synthetic, train_size: 16, dev_size: 8, test_size: 8"
GOOD_TASKLIST = f"""\
tasks:
  topic: {{source: {{{SYN}, task: topic}}}}
  ner: {{type: token, source: {{{SYN}, task: ner}}}}
orders:
  ner_first: [ner, topic]
"""
FILES_TASKLIST = """\
tasks:
  reviews:
    source: {{kind: files, train: reviews.csv{extra}}}
{spec}"""
REVIEWS_CSV = "text,label\n" + "".join(
    f"{w} movie number {i},{lab}\n"
    for i in range(4) for w, lab in (("great", "pos"), ("awful", "neg"), ("plain", "neutral"))
)
# A folder shaped like a Hub dataset repository: the card declares the configs and the ClassLabel names.
HUB_CARD = """\
---
dataset_info:
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': World
          '1': Sports
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
  - split: test
    path: data/test-*
---
"""
HUB_ROWS = "".join(f'{{"text": "story {i}", "label": {i % 2}}}\n' for i in range(6))
REVIEWS_MIXED_JSONL = "".join(json.dumps({"text": f"movie {i}", "label": lab}) + "\n" for i, lab in
                              enumerate(["pos", "neg", "pos", 1, "neg", "pos", "neg", 1, "pos", "neg", "pos", "neg"]))
JSONL_TASKLIST = "tasks:\n  reviews: {source: {kind: files, train: reviews.jsonl}}\n"
BROKEN_JSONL = '{"text": "great one", "label": "pos"}\n{"text": "awful one", "label": "neg"}\n' \
    '{"text": "plain one", "label": neg}\n'
BROKEN_JSON = '[\n  {"text": "great one", "label": "pos"}\n  {"text": "awful one", "label": "neg"}\n]\n'
EMPTY_TEXT_CSV = REVIEWS_CSV.replace("great movie number 1,", ",").replace("plain movie number 3,", '"",')
CONLL = "John B-PER\nlives O\nin O\nParis B-LOC\n\nMary B-PER\nsings O\n"
CONLL_NO_TAG = "John B-PER\nlives\nin O\n"


TINY = "backbone: tiny, max_length: 32, tiny: {hidden_size: 32, intermediate_size: 64}"


def experiment(*extra: str, tasklist: str = "tasklist: tl.yaml", model: str = TINY,
               run: str = "cache_dir: cache") -> str:
    """A valid experiment (tiny model, cpu) with `extra` top-level YAML lines appended."""
    lines = [tasklist, f"model: {{{model}}}", f"run: {{{run}}}", *extra]
    return "\n".join(lines) + "\n"


def files_tasklist(spec: str = "", extra: str = "") -> str:
    return FILES_TASKLIST.format(extra=extra, spec="".join(f"    {line}\n" for line in spec.splitlines()))


def conll_tasklist(extra: str = "") -> str:
    files = "train: ner.conll, dev: ner_dev.conll, test: ner_test.conll"
    return f"tasks:\n  ner: {{type: token, {extra}source: {{kind: conll, {files}}}}}\n"


def conll_files(text: str) -> dict[str, str]:
    """The files conll_tasklist names, each split role its own, all holding `text`."""
    return {name: text for name in ("ner.conll", "ner_dev.conll", "ner_test.conll")}


def hub_tasklist(splits: str, extra: str = "") -> str:
    return f"tasks:\n  news: {{source: {{kind: hub, name: news, splits: {{{splits}}}}}{extra}}}\n"


@dataclass
class Case:
    id: str
    where: str  # "exp", "tl" or a literal such as "--set": which source the message must name
    key: str  # the key path (or line) the message must name
    fragments: tuple[str, ...]  # what the message must hold: the problem and what would be valid
    exp: str = field(default_factory=experiment)
    tl: str | None = GOOD_TASKLIST
    files: dict[str, str] = field(default_factory=dict)
    argv: tuple[str, ...] = ()
    command: str = "train"  # train: `train EXP --out out --quiet ARGV`; run: `run EXP ARGV`
    cpu_only: bool = False  # the input is only impossible on a machine without CUDA
    # The mistake shows only once the data is prepared (a text2text target's length is its longest train
    # target's): the data cache (`cache`) is written and the preparation logged before the error.
    prepares_data: bool = False


def run_case(*, id: str, where: str, key: str, fragments: tuple[str, ...], exp: str, **kw: object) -> Case:
    return Case(id, where, key, fragments, exp=exp, command="run", **kw)  # type: ignore[arg-type]


CASES = [
    # ------------------------------------------------------------- YAML syntax and shape
    Case("invalid-yaml-syntax", "exp", "line 5, column 5", ("invalid YAML", "expected ',' or '}'"),
         exp=experiment("train: {lr: 0.1, epochs: 1", "eval: {split: dev}")),
    Case("yaml-tab-indent", "exp", "line 5, column 1", ("invalid YAML", "found character '\\t'"),
         exp=experiment("train:\n\tlr: 0.1")),
    Case("yaml-python-tag", "exp", "line 4, column 8", ("invalid YAML", "could not determine a constructor",
                                                         "python/object/apply:os.system"),
         exp=experiment("train: !!python/object/apply:os.system ['touch hacked']")),
    # Duplicate keys: the dotted key path and the lines of both
    Case("duplicate-section", "exp", "line 5, column 1",
         (": train: invalid YAML: line 5, column 1: duplicate key 'train' (first on line 4)",),
         exp=experiment("train: {lr: 0.1}", "train: {epochs: 2}")),
    Case("duplicate-nested-key", "exp", "approach.ewc.lambda",
         ("approach.ewc.lambda: invalid YAML: line 8, column 5: duplicate key 'lambda' (first on line 7)",),
         exp=experiment("approach:", "  name: ewc", "  ewc:", "    lambda: 1", "    lambda: 2")),
    Case("experiment-not-a-mapping", "exp", "exp.yaml", ("expected a mapping of sections", "tasklist, model"),
         exp="- train\n- eval\n", tl=None),
    Case("empty-experiment", "exp", "exp.yaml", ("expected a mapping of sections",), exp="", tl=None),
    Case("tasklist-not-a-mapping", "tl", "tl.yaml", ("expected a mapping with `tasks:`",), tl="- topic\n- ner\n"),
    # ------------------------------------------------------------- experiment schema
    Case("unknown-top-level-key", "exp", "trian", ("unknown key 'trian'", "did you mean 'train'"),
         exp=experiment("trian: {epochs: 1}")),
    Case("unknown-nested-key", "exp", "train.lrr", ("unknown key 'lrr'", "did you mean 'lr'", "valid keys:"),
         exp=experiment("train: {lrr: 0.1}")),
    Case("wrong-type", "exp", "train.epochs", ("valid integer", "'three'"),
         exp=experiment("train: {epochs: three}")),
    Case("wrong-type-float-seed", "exp", "train.seed", ("valid integer", "1.5"),
         exp=experiment("train: {seed: 1.5}")),
    Case("out-of-range", "exp", "train.lr", ("greater than 0", "(got -1)"),
         exp=experiment("train: {lr: -1}")),
    Case("out-of-range-batch", "exp", "eval.batch_size", ("greater than or equal to 1", "(got 0)"),
         exp=experiment("eval: {batch_size: 0}")),
    Case("max-length-too-small", "exp", "model.max_length", ("greater than or equal to 4", "(got 2)"),
         exp=experiment(model="backbone: tiny, max_length: 2")),
    Case("unknown-optimizer", "exp", "train.optimizer", ("'adamw', 'adam' or 'sgd'", "'adamax'"),
         exp=experiment("train: {optimizer: adamax}")),
    Case("unknown-approach", "exp", "approach.name", ("unknown approach 'ewk'", "did you mean 'ewc'"),
         exp=experiment("approach: {name: ewk}")),
    Case("unknown-approach-param", "exp", "approach.ewc.lamda", ("unknown key 'lamda'", "did you mean 'lambda'"),
         exp=experiment("approach: {name: ewc, ewc: {lamda: 100}}")),
    Case("approach-param-type", "exp", "approach.ewc.lambda", ("valid number", "'big'"),
         exp=experiment("approach: {name: ewc, ewc: {lambda: big}}")),
    Case("ewc-exact-fisher-on-a-token-task", "exp", "approach",
         ("ewc.fisher exact takes one backward pass per label", "tasks of type token", "fisher: sampled"),
         exp=experiment("approach: {name: ewc, ewc: {fisher: exact}}")),
    Case("approach-param-range", "exp", "approach.replay.buffer_size", ("greater than", "(got -5)"),
         exp=experiment("approach: {name: replay, replay: {buffer_size: -5}}")),
    Case("unknown-scenario", "exp", "scenario", ("'task_il', 'domain_il', 'class_il' or 'generative'",
                                                 "'class_incremental'"),
         exp=experiment("scenario: class_incremental")),
    # ------------------------------------------------------------- text-to-text (generative LMs)
    Case("text2text-template-without-text", "tl", "tasks.topic.template.format",
         ("must contain {text}", "without it the model never sees the example"),
         exp=experiment(model="backbone: tiny-t5, max_length: 32"),
         tl=f"tasks:\n  topic: {{type: text2text, source: {{{SYN}, task: topic}}, "
            "template: {format: '{instruction} Answer:'}}\n"),
    Case("text2text-approach-without-generative-form", "exp", "approach",
         ("approach 'agem' has no generative form", "valid approaches: ", "finetune"),
         exp=experiment("approach: {name: agem}", model="backbone: tiny-t5, max_length: 32"),
         tl=f"tasks:\n  topic: {{type: text2text, source: {{{SYN}, task: topic}}}}\n"),
    Case("text2text-lwf-warm-up-without-heads", "exp", "approach",
         ("lwf.warmup_epochs trains a new task's head alone", "set it to 0"),
         exp=experiment("approach: {name: lwf, lwf: {warmup_epochs: 1}}", model="backbone: tiny-t5, max_length: 32"),
         tl=f"tasks:\n  topic: {{type: text2text, source: {{{SYN}, task: topic}}}}\n"),
    Case("text2text-on-an-encoder", "exp", "model",
         ("backbone tiny is an encoder without an LM head", "tiny-t5 or tiny-gpt2"),
         tl=f"tasks:\n  topic: {{type: text2text, source: {{{SYN}, task: topic}}}}\n"),
    Case("text2text-label-the-tokenizer-cannot-write", "tl", "tasks.reviews.labels",
         ("label '日本' encodes to", "the tokenizer cannot produce it", "label_map"),
         exp=experiment(model="backbone: tiny-t5, max_length: 32"),
         tl="tasks:\n  reviews: {type: text2text, source: {kind: files, train: reviews.jsonl}}\n",
         files={"reviews.jsonl": "".join(json.dumps({"text": f"movie {i}", "label": lab}, ensure_ascii=False) + "\n"
                                         for i in range(6) for lab in ("日本", "good"))}),
    # Progressive prompts stack one prompt per task of the order before the input (and a decoder-only LM's
    # target after it): refused before training, not an IndexError at the third task.
    Case("progressive-prompts-past-the-positions", "exp", "approach.progressive_prompts.prompt_length",
         ("3 task prompts x 40 + 48 input + 2 target = 170 tokens for task topic exceed the backbone's 128 positions",
          "set prompt_length <= 26 or model.max_length <= 6"),
         exp=experiment("approach: {name: progressive_prompts, progressive_prompts: {prompt_length: 40}}",
                        model="backbone: tiny-gpt2, max_length: 48, tiny: {hidden_size: 32, intermediate_size: 64}"),
         tl=f"defaults: {{type: text2text, source: {{{SYN}}}}}\ntasks:\n  topic: {{source: {{task: topic}}}}\n"
            "  sentiment: {source: {task: sentiment}}\n  intent: {source: {task: intent}}\n", prepares_data=True),
    Case("approach-refuses-scenario", "exp", "scenario", ("does not support scenario class_il",
                                                          "valid for lora: task_il"),
         exp=experiment("approach: {name: lora}", "scenario: class_il")),
    Case("one-head-scenario-mixed-types", "exp", "scenario", ("every task must be of one type", "token",
                                                              "valid for mixed or masked-LM tasklists: task_il"),
         exp=experiment("scenario: domain_il")),
    Case("domain-il-different-labels", "tl", "tasks.intent.head", ("labels differ", "scenario class_il"),
         exp=experiment("scenario: domain_il"),
         tl=f"tasks:\n  topic: {{source: {{{SYN}, task: topic}}}}\n  intent: {{source: {{{SYN}, task: intent}}}}\n"),
    Case("eval-split", "exp", "eval.split", ("'test' or 'dev'", "'validation'"),
         exp=experiment("eval: {split: validation}")),
    Case("observe-interval", "exp", "observe.gpu_interval_s", ("greater than 0", "(got 0)"),
         exp=experiment("observe: {gpu_interval_s: 0}")),
    Case("observe-unknown-key", "exp", "observe.gpu", ("unknown key 'gpu'", "valid keys:"),
         exp=experiment("observe: {gpu: false}")),
    Case("unknown-backbone", "exp", "model.backbone", ("cannot load 'bert-bsae-uncased'", "Valid: tiny"),
         exp=experiment(model="backbone: bert-bsae-uncased")),
    Case("missing-backbone-folder", "exp", "model.backbone", ("model folder not found", "nomodel", "tiny"),
         exp=experiment(model="backbone: ./nomodel")),
    Case("fp16-on-cpu", "exp", "train.precision", ("fp16 needs a CUDA device", "use bf16 or fp32"),
         exp=experiment("train: {precision: fp16, device: cpu}")),
    Case("cuda-without-gpu", "exp", "train.device", ("no CUDA device", "use device: cpu or auto"),
         exp=experiment("train: {device: cuda}"), cpu_only=True),
    # ------------------------------------------------------------- orders
    Case("order-unknown-task", "exp", "order", ("unknown task 'topc'", "did you mean 'topic'"),
         exp=experiment("order: [ner, topc]")),
    Case("order-duplicate-task", "exp", "order", ("names topic more than once",),
         exp=experiment("order: [topic, ner, topic]")),
    Case("order-not-a-list", "exp", "order", ("valid list", "'topic'"), exp=experiment("order: topic")),
    Case("cli-order-unknown-task", "--order", "order", ("unknown task 'nre'", "did you mean 'ner'"),
         argv=("--order", "topic,nre")),
    Case("tasklist-order-unknown-task", "tl", "orders.bad", ("unknown task 'nerr'", "did you mean 'ner'"),
         tl=GOOD_TASKLIST + "  bad: [nerr, topic]\n"),
    Case("tasklist-order-repeated-task", "tl", "orders.twice", ("names ner more than once",),
         tl=GOOD_TASKLIST + "  twice: [ner, topic, ner]\n"),
    # ------------------------------------------------------------- command line
    Case("set-without-equals", "--set", "train.lr", ("expected KEY=VALUE",), argv=("--set", "train.lr")),
    Case("set-into-non-section", "--set", "train.lr.x", ("'train.lr' is not a section",),
         exp=experiment("train: {lr: 0.1}"), argv=("--set", "train.lr.x=1")),
    # A mistake typed after --set is blamed on --set, also where --set created the section (no train: in exp)
    Case("set-unknown-key", "--set", "train.lrr", ("unknown key 'lrr'", "did you mean 'lr'"),
         argv=("--set", "train.lrr=0.1")),
    Case("set-bad-value-over-yaml", "--set", "train.lr", ("greater than 0", "(got -1)"),
         exp=experiment("train: {lr: 0.1}"), argv=("--set", "train.lr=-1")),
    Case("set-creates-task-without-source", "--set", "tasklist.tasks.news.source", ("required key is missing",),
         argv=("--set", "tasklist.tasks.news.type=sequence")),
    Case("set-task-key-in-tasklist-file", "--set", "tasklist.tasks.topic.lr", ("greater than 0", "(got -1)"),
         argv=("--set", "tasklist.tasks.topic.lr=-1")),
    Case("resume-not-a-run", "nowhere", "--resume", ("not a clsweep run folder",), argv=("--resume", "nowhere")),
    Case("missing-tasklist-file", "exp", "tasklist", ("file not found", "nope.yaml"),
         exp=experiment(tasklist="tasklist: nope.yaml")),
    # ------------------------------------------------------------- tasklist schema (named in the tasklist file)
    Case("unknown-task-type", "tl", "tasks.ner.type", ("unknown task type 'tokn'", "did you mean 'token'"),
         tl=f"tasks:\n  ner: {{type: tokn, source: {{{SYN}, task: ner}}}}\n"),
    Case("unknown-synthetic-task", "tl", "tasks.topic.source.task",
         ("unknown synthetic task 'topik'", "did you mean 'topic'"),
         tl=f"tasks:\n  topic: {{source: {{{SYN}, task: topik}}}}\n"),
    Case("unknown-source-key", "tl", "tasks.topic.source.taks", ("unknown key 'taks'", "did you mean 'task'"),
         tl=f"tasks:\n  topic: {{source: {{{SYN}, task: topic, taks: topic}}}}\n"),
    Case("unknown-source-kind", "tl", "tasks.topic.source", ("'hub', 'files', 'conll', 'synthetic'", "'csv'"),
         tl="tasks:\n  topic: {source: {kind: csv, train: a.csv}}\n"),
    Case("unknown-task-default-key", "tl", "defaults.max_lenght",
         ("unknown key 'max_lenght'", "did you mean 'max_length'"),
         tl=f"defaults: {{max_lenght: 16}}\ntasks:\n  topic: {{source: {{{SYN}, task: topic}}}}\n"),
    Case("task-default-out-of-range", "tl", "defaults.epochs", ("greater than or equal to 1", "(got 0)"),
         tl=f"defaults: {{epochs: 0}}\ntasks:\n  topic: {{source: {{{SYN}, task: topic}}}}\n"
            f"  ner: {{type: token, source: {{{SYN}, task: ner}}}}\n"),
    Case("task-lr-range", "tl", "tasks.topic.lr", ("greater than 0", "(got -0.1)"),
         tl=f"tasks:\n  topic: {{lr: -0.1, source: {{{SYN}, task: topic}}}}\n"),
    Case("unknown-metric", "tl", "tasks.topic.metrics", ("unknown metric 'acuracy'", "did you mean 'accuracy'"),
         tl=f"tasks:\n  topic: {{metrics: [acuracy], source: {{{SYN}, task: topic}}}}\n"),
    Case("metric-wrong-task-type", "tl", "tasks.topic.metrics", ("entity_f1 do not apply to sequence tasks", "valid:"),
         tl=f"tasks:\n  topic: {{metrics: [entity_f1], source: {{{SYN}, task: topic}}}}\n"),
    Case("task-without-source", "tl", "tasks.topic.source", ("required key is missing",),
         tl="tasks:\n  topic: {type: sequence}\n"),
    # Two split roles reading the same data: test examples trained on, or dev examples scored as test
    Case("split-used-twice-hub", "tl", "tasks.news.source.splits",
         ("train and test both read the dataset's split 'train', so test examples would be trained on",
          "map test to another split or to a disjoint slice", "or leave test out to carve it from train"),
         tl=hub_tasklist("train: train, test: train")),
    Case("split-used-twice-hub-dev-test", "tl", "tasks.news.source.splits",
         ("dev and test both read the dataset's split 'test'", "selected on the very examples it is scored on",
          "or from test with dev: {from: test, fraction: 0.5}"),
         tl=hub_tasklist("train: train, dev: test, test: test")),
    Case("split-slices-overlap", "tl", "tasks.news.source.splits",
         ("train ('train[:80%]') and test ('train[50%:]') both read rows of the dataset's split 'train'",
          "(e.g. train: train[:80%], test: train[80%:])"),
         tl=hub_tasklist("train: 'train[:80%]', test: 'train[50%:]'")),
    Case("split-slices-mixed-units", "tl", "tasks.news.source.splits",
         ("train ('train[:80%]') and test ('train[1000:]') may share rows", "test examples could be trained on",
          "different units", "cannot be compared before the split is loaded"),
         tl=hub_tasklist("train: 'train[:80%]', test: 'train[1000:]'")),
    Case("split-unreadable-slice", "tl", "tasks.news.source.splits",
         ("test: 'train[80%:]%' is not a split datasets can read", "train[:80%], train[1000:2000] or train[10%:]"),
         tl=hub_tasklist("train: 'train[:80%]', test: 'train[80%:]%'")),
    Case("split-file-used-twice", "tl", "tasks.reviews.source.test",
         ("test reads the same file as train", "reviews.csv), so test examples would be trained on",
          "give test its own file, or leave test out to carve it from train"),
         tl=files_tasklist(extra=", test: ./sub/../reviews.csv"), files={"reviews.csv": REVIEWS_CSV}),
    Case("split-file-used-twice-dev-test", "tl", "tasks.ner.source.test",
         ("test reads the same file as dev", "give test its own file", "dev: {from: test, fraction: 0.5}"),
         tl=conll_tasklist().replace("ner_test.conll", "ner_dev.conll"), files=conll_files(CONLL)),
    Case("split-file-used-twice-local", "tl", "tasks.news.local.dev",
         ("dev reads the same file as train", "dev examples would be trained on"),
         tl=hub_tasklist("train: train, test: test", ", local: {train: news.jsonl, dev: news.jsonl}"),
         files={"news.jsonl": HUB_ROWS}),
    Case("duplicate-task-names", "tl", "tasks.topic",
         ("tasks.topic: invalid YAML: line 3, column 3: duplicate key 'topic' (first on line 2)",),
         tl=f"tasks:\n  topic: {{source: {{{SYN}, task: topic}}}}\n  topic: {{source: {{{SYN}, task: intent}}}}\n"),
    # ------------------------------------------------------------- data (found while preparing, before any folder)
    Case("missing-data-file", "tl", "tasks.reviews.source.train", ("file not found", "reviews.csv"),
         tl=files_tasklist()),
    Case("hub-dataset-not-available", "tl", "tasks.news.source.name",
         ("cannot load dataset 'no_such_org/no_such_dataset'",),
         tl="tasks:\n  news: {source: {kind: hub, name: no_such_org/no_such_dataset}}\n"),
    Case("hub-loading-script", "tl", "tasks.ner.source.name",
         ("it is a dataset loading script (wnut_17.py), which datasets >= 4 no longer runs",
          "source.revision: refs/convert/parquet"),
         tl="tasks:\n  ner: {type: token, source: {kind: hub, name: wnut_17}, label_column: ner_tags}\n",
         files={"wnut_17/wnut_17.py": "import datasets\n", "wnut_17/README.md": HUB_CARD}),
    Case("hub-label-names-differ-from-card", "tl", "tasks.news.label_names",
         ("the dataset's own label names differ: [World, Sports]", "drop label_names or list exactly these"),
         tl="tasks:\n  news: {source: {kind: hub, name: news}, label_names: [Sports, World]}\n",
         files={"news/README.md": HUB_CARD, "news/data/train-00000-of-00001.jsonl": HUB_ROWS,
                "news/data/test-00000-of-00001.jsonl": HUB_ROWS}),
    Case("missing-dev-file", "tl", "tasks.reviews.source.dev", ("file not found", "nodev.csv"),
         tl=files_tasklist(extra=", dev: nodev.csv"), files={"reviews.csv": REVIEWS_CSV}),
    Case("missing-column", "tl", "tasks.reviews.text_column",
         ("column 'body' not found in train split", "available: label, text"),
         tl=files_tasklist("text_column: body"), files={"reviews.csv": REVIEWS_CSV}),
    Case("missing-label-column", "tl", "tasks.reviews.label_column",
         ("column 'stars' not found in train split", "available: label, text"),
         tl=files_tasklist("label_column: stars"), files={"reviews.csv": REVIEWS_CSV}),
    Case("empty-split", "tl", "tasks.reviews.source.test", ("split 'test' is empty",),
         tl=files_tasklist(extra=", test: header_only.csv"),
         files={"reviews.csv": REVIEWS_CSV, "header_only.csv": "text,label\n"}),
    Case("label-missing-from-labels-list", "tl", "tasks.reviews.labels",
         ("label 'neutral' in train split is not one of the listed labels: neg, pos",),
         tl=files_tasklist("labels: [neg, pos]"), files={"reviews.csv": REVIEWS_CSV}),
    Case("conll-token-without-tag", "tl", "tasks.ner.source.train", ("line 2", "'lives' has a token but no tag"),
         tl=conll_tasklist(), files=conll_files(CONLL_NO_TAG)),
    Case("conll-tag-outside-labels", "tl", "tasks.ner.labels", ("'B-LOC'", "not one of the listed labels"),
         tl=conll_tasklist("labels: [O, B-PER], "), files=conll_files(CONLL)),
    Case("conll-empty-file", "tl", "tasks.ner.source.train", ("split 'train' is empty",),
         tl=conll_tasklist(), files=conll_files("\n")),
    # Messy files: mixed label types, a broken JSON line, an empty text cell (named by column, split, row, line)
    Case("mixed-label-types", "tl", "tasks.reviews.label_column",
         ("column 'label' in train split mixes label types", "10 rows hold strings (first: row 0, 'pos')",
          "2 rows hold numbers (first: row 3, 1)", "label_map (e.g. {1: pos})", "label_names"),
         tl=JSONL_TASKLIST, files={"reviews.jsonl": REVIEWS_MIXED_JSONL}),
    Case("json-lines-syntax", "tl", "tasks.reviews.source.train",
         ("reviews.jsonl as jsonl: line 3, column 32: Expecting value: " + BROKEN_JSONL.splitlines()[2],),
         tl=JSONL_TASKLIST, files={"reviews.jsonl": BROKEN_JSONL}),
    Case("json-document-syntax", "tl", "tasks.reviews.source.train",
         ("reviews.json as json: line 3, column 3: Expecting ',' delimiter",),
         tl=JSONL_TASKLIST.replace(".jsonl", ".json"), files={"reviews.json": BROKEN_JSON}),
    Case("empty-text-cell", "tl", "tasks.reviews.text_column",
         ("column 'text' in train split is empty (null) in 2 row(s), first row 3", "nothing is dropped silently",
          "empty_text: empty", "empty_text: drop"),
         tl=files_tasklist(), files={"reviews.csv": EMPTY_TEXT_CSV}),
    Case("empty-text-empty-for-token-task", "tl", "tasks.ner", ("empty_text: empty", "use error or drop"),
         tl=conll_tasklist("empty_text: empty, "), files=conll_files(CONLL)),
    Case("empty-text-unknown-policy", "tl", "tasks.reviews.empty_text", ("'error', 'empty' or 'drop'", "'skip'"),
         tl=files_tasklist("empty_text: skip"), files={"reviews.csv": REVIEWS_CSV}),
    # ------------------------------------------------------------- outputs
    Case("cache-dir-under-a-file", "exp", "run.cache_dir", ("is a file, not a folder", "give a folder path"),
         exp=experiment(run="cache_dir: afile/cache"), files={"afile": "x"}),
    Case("out-under-a-file", "exp", "--out", ("is a file, not a folder",), files={"afile": "x"},
         argv=("--out", "afile/run")),
    Case("run-name-escapes-storage", "exp", "run.name", ("'../x' is not a plain folder name", "e.g. ewc_sweep"),
         exp=experiment(run="cache_dir: cache, name: ../x")),
    Case("run-name-with-slash", "exp", "run.name", ("'a/b' is not a plain folder name",),
         exp=experiment(run="cache_dir: cache, name: a/b")),
    # ------------------------------------------------------------- sweeps: search space, orderings, resources
    run_case(id="search-space-root", where="exp", key="search.space",
             fragments=("space key 'optimizer.lr'", "must start with one of"),
             exp=experiment("search: {space: {optimizer.lr: {grid: [0.1, 0.01]}}}")),
    run_case(id="distribution-two-keys", where="exp", key="search.space.train.lr",
             fragments=("give exactly one of", "'grid', 'choice'"),
             exp=experiment("search: {space: {train.lr: {grid: [0.1], choice: [0.01]}}}")),
    run_case(id="zero-trials-empty-grid", where="exp", key="search.space.train.lr",
             fragments=("grid needs at least one value",),
             exp=experiment("search: {space: {train.lr: {grid: []}}}")),
    run_case(id="zero-trials-no-seeds", where="exp", key="search.seeds", fragments=("list at least one seed",),
             exp=experiment("search: {seeds: []}")),
    run_case(id="zero-trials-no-orderings", where="exp", key="search.orderings",
             fragments=("list at least one ordering",), exp=experiment("search: {orderings: []}")),
    run_case(id="zero-trials-quniform", where="exp", key="search.space.train.lr",
             fragments=("holds no multiple of 1.0",),
             exp=experiment("search: {algorithm: random, space: {train.lr: {quniform: [0.1, 0.5, 1]}}}")),
    run_case(id="zero-random-orderings", where="exp", key="search.orderings.random",
             fragments=("greater than or equal to 1", "(got 0)"), exp=experiment("search: {orderings: {random: 0}}")),
    run_case(id="too-many-random-orderings", where="exp", key="search.orderings",
             fragments=("random: 5 asks for more orders than the 2",),
             exp=experiment("search: {orderings: {random: 5}}")),
    run_case(id="unknown-order-name", where="exp", key="search.orderings",
             fragments=("unknown tasklist order 'ner_frist'", "ner_first"),
             exp=experiment("search: {orderings: [ner_frist]}")),
    run_case(id="search-ordering-repeated-task", where="exp", key="search.orderings[0]",
             fragments=("names ner more than once",), exp=experiment("search: {orderings: [[ner, ner, topic]]}")),
    run_case(id="grid-over-continuous-range", where="exp", key="search.space.train.lr",
             fragments=("grid search cannot enumerate", "algorithm: random or optuna"),
             exp=experiment("search: {space: {train.lr: {loguniform: [0.001, 0.1]}}}")),
    run_case(id="space-for-approach-not-run", where="exp", key="search.space.approach.ewc.lambda",
             fragments=("applies to ewc, which this sweep does not run", "add it to approach.name"),
             exp=experiment("search: {space: {approach.ewc.lambda: {grid: [1, 10]}}}")),
    run_case(id="sweep-approach-refuses-scenario", where="exp", key="scenario",
             fragments=("does not support scenario domain_il", "valid for independent: task_il",
                        "search.space.approach.name"),
             exp=experiment("scenario: domain_il", "search: {space: {approach.name: {grid: [finetune, independent]}}}",
                            tasklist="tasklist: {tasks: {sentiment: {source: {kind: synthetic, train_size: 16, "
                                     "dev_size: 8, test_size: 8, task: sentiment}}}}")),
    run_case(id="test-metric-for-selection", where="exp", key="search",
             fragments=("'test_acc' is not a dev metric", "valid: dev_acc"),
             exp=experiment("search: {metric: test_acc}")),
    # A dev/<task> objective every report must carry (Tune stops the sweep at the first report without it).
    run_case(id="search-metric-unknown-task", where="exp", key="search",
             fragments=("search.metric 'dev/topicc' names no task of the order", "did you mean 'dev/topic'?",
                        "valid: dev_acc, dev_avg_seen, dev_forgetting, dev/topic, dev/ner"),
             exp=experiment("search: {metric: dev/topicc}")),
    run_case(id="search-metric-task-an-ordering-lacks", where="exp", key="search",
             fragments=("search.metric 'dev/topic' reads task topic, which search.orderings[0] ('ner_only')",
                        "select on dev_acc"),
             exp=experiment("search: {metric: dev/topic, orderings: [ner_only]}"),
             tl=GOOD_TASKLIST + "  ner_only: [ner]\n"),
    run_case(id="impossible-gpu", where="exp", key="resources.gpu", fragments=("asks for 4 GPU(s)", "gpu: auto"),
             exp=experiment("resources: {gpu: 4}"), cpu_only=True),
    run_case(id="fractional-gpus-above-one", where="exp", key="resources.gpu",
             fragments=("above 1 a trial takes whole GPUs",), exp=experiment("resources: {gpu: 1.5}")),
    run_case(id="impossible-cpus", where="exp", key="resources.cpu", fragments=("asks for 4096 CPUs", "at most"),
             exp=experiment("resources: {cpu: 4096, gpu: 0}")),
    run_case(id="sweep-storage-under-a-file", where="exp", key="run.storage_path",
             fragments=("is a file, not a folder",),
             exp=experiment("resources: {gpu: 0}", run="cache_dir: cache, storage_path: afile"),
             files={"afile": "x"}),
]

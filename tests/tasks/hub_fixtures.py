"""Local folders shaped like the Hub repositories the tasklists name, read by `load_dataset(folder, config)`.

Each folder holds Parquet shards under the repository's own file names and, where the repository has one, a
dataset card whose front-matter declares the configs (data_files) and the features, ClassLabel names
included, as the Hub's cards do. Written from the datasets' cards and file listings, never from the
tasklists: the tests check the tasklists against this. Layouts as listed on the Hub at the time of writing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from clsweep.tasks.sources import _quiet_datasets

AG = ["World", "Sports", "Business", "Sci/Tech"]
YELP = ["1 star", "2 star", "3 stars", "4 stars", "5 stars"]
DBPEDIA = ["Company", "EducationalInstitution", "Artist", "Athlete", "OfficeHolder", "MeanOfTransportation",
           "Building", "NaturalPlace", "Village", "Animal", "Plant", "Album", "Film", "WrittenWork"]
YAHOO = ["Society & Culture", "Science & Mathematics", "Health", "Education & Reference", "Computers & Internet",
         "Sports", "Business & Finance", "Entertainment & Music", "Family & Relationships", "Politics & Government"]
CONLL_NER = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
CONLL_POS = ['"', "''", "#", "$", "(", ")", ",", ".", ":", "``", "CC", "CD", "DT", "EX", "FW", "IN", "JJ", "JJR",
             "JJS", "LS", "MD", "NN", "NNP", "NNPS", "NNS", "NN|SYM", "PDT", "POS", "PRP", "PRP$", "RB", "RBR", "RBS",
             "RP", "SYM", "TO", "UH", "VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "WDT", "WP", "WP$", "WRB"]
CONLL_CHUNK = ["O", "B-ADJP", "I-ADJP", "B-ADVP", "I-ADVP", "B-CONJP", "I-CONJP", "B-INTJ", "I-INTJ", "B-LST",
               "I-LST", "B-NP", "I-NP", "B-PP", "I-PP", "B-PRT", "I-PRT", "B-SBAR", "I-SBAR", "B-UCP", "I-UCP",
               "B-VP", "I-VP"]
WNUT = ["O", "B-corporation", "I-corporation", "B-creative-work", "I-creative-work", "B-group", "I-group",
        "B-location", "I-location", "B-person", "I-person", "B-product", "I-product"]
WIKIANN = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
# clinc/clinc_oos's intent ClassLabel, id order as on its card (oos is id 42).
CLINC = [
    "restaurant_reviews", "nutrition_info", "account_blocked", "oil_change_how", "time", "weather", "redeem_rewards",
    "interest_rate", "gas_type", "accept_reservations", "smart_home", "user_name", "report_lost_card", "repeat",
    "whisper_mode", "what_are_your_hobbies", "order", "jump_start", "schedule_meeting", "meeting_schedule",
    "freeze_account", "what_song", "meaning_of_life", "restaurant_reservation", "traffic", "make_call", "text",
    "bill_balance", "improve_credit_score", "change_language", "no", "measurement_conversion", "timer", "flip_coin",
    "do_you_have_pets", "balance", "tell_joke", "last_maintenance", "exchange_rate", "uber", "car_rental",
    "credit_limit", "oos", "shopping_list", "expiration_date", "routing", "meal_suggestion", "tire_change",
    "todo_list", "card_declined", "rewards_balance", "change_accent", "vaccines", "reminder_update", "food_last",
    "change_ai_name", "bill_due", "who_do_you_work_for", "share_location", "international_visa", "calendar",
    "translate", "carry_on", "book_flight", "insurance_change", "todo_list_update", "timezone", "cancel_reservation",
    "transactions", "credit_score", "report_fraud", "spending_history", "directions", "spelling", "insurance",
    "what_is_your_name", "reminder", "where_are_you_from", "distance", "payday", "flight_status", "find_phone",
    "greeting", "alarm", "order_status", "confirm_reservation", "cook_time", "damaged_card", "reset_settings",
    "pin_change", "replacement_card_duration", "new_card", "roll_dice", "income", "taxes", "date", "who_made_you",
    "pto_request", "tire_pressure", "how_old_are_you", "rollover_401k", "pto_request_status", "how_busy",
    "application_status", "recipe", "calendar_update", "play_music", "yes", "direct_deposit", "credit_limit_change",
    "gas", "pay_bill", "ingredients_list", "lost_luggage", "goodbye", "what_can_i_ask_you", "book_hotel",
    "are_you_a_bot", "next_song", "change_speed", "plug_type", "maybe", "w2", "oil_change_when", "thank_you",
    "shopping_list_update", "pto_balance", "order_checks", "travel_alert", "fun_fact", "sync_device",
    "schedule_maintenance", "apr", "transfer", "ingredient_substitution", "calories", "current_location",
    "international_fees", "calculator", "definition", "next_holiday", "update_playlist", "mpg", "min_payment",
    "change_user_name", "restaurant_suggestion", "travel_notification", "cancel", "pto_used", "travel_suggestion",
    "change_volume",
]

# Column kinds: "text", "int32"/"int64" (an id), "sid" (a string id), ("class", names) a ClassLabel,
# ("int", n) a plain int label in 0..n-1, ("tags", names) a list of ClassLabel ids (BIO: odd ids are B- tags,
# the id after each is its I- tag), "tokens", "idx" (MultiRC's dict id), "langs", "spans".
GLUE = {
    "mnli": {"premise": "text", "hypothesis": "text", "label": ("class", ["entailment", "neutral", "contradiction"]),
             "idx": "int32"},
    "qqp": {"question1": "text", "question2": "text", "label": ("class", ["not_duplicate", "duplicate"]),
            "idx": "int32"},
    "rte": {"sentence1": "text", "sentence2": "text", "label": ("class", ["entailment", "not_entailment"]),
            "idx": "int32"},
    "sst2": {"sentence": "text", "label": ("class", ["negative", "positive"]), "idx": "int32"},
    "cola": {"sentence": "text", "label": ("class", ["unacceptable", "acceptable"]), "idx": "int32"},
}
SUPER_GLUE = {
    "cb": {"premise": "text", "hypothesis": "text", "idx": "int32",
           "label": ("class", ["entailment", "contradiction", "neutral"])},
    "wic": {"word": "text", "sentence1": "text", "sentence2": "text", "start1": "int32", "start2": "int32",
            "end1": "int32", "end2": "int32", "idx": "int32", "label": ("class", ["False", "True"])},
    "copa": {"premise": "text", "choice1": "text", "choice2": "text", "question": "text", "idx": "int32",
             "label": ("class", ["choice1", "choice2"])},
    "boolq": {"question": "text", "passage": "text", "idx": "int32", "label": ("class", ["False", "True"])},
    "multirc": {"paragraph": "text", "question": "text", "answer": "text", "idx": "idx",
                "label": ("class", ["False", "True"])},
}
THREE_SPLITS = ("train", "validation", "test")
MNLI_SPLITS = ("train", "validation_matched", "validation_mismatched", "test_matched", "test_mismatched")
HIDDEN = {"test", "test_matched", "test_mismatched", "unsupervised"}  # label -1, as on the Hub


@dataclass(frozen=True)
class Repo:
    """One Hub dataset repository: its configs (columns, splits), shard names and whether it has a card."""

    configs: dict[str, tuple[dict[str, Any], tuple[str, ...]]]
    path: str = "{config}/{split}-{shard:05d}-of-{shards:05d}.parquet"  # formatted per shard
    card: bool = True  # a README whose front-matter declares configs and features
    script: str | None = None  # a loading script in place of data (datasets >= 4 refuses it)
    shards: dict[str, int] = field(default_factory=dict)
    hidden: bool = False  # its test splits hide their labels (-1), as GLUE and SuperGLUE do


def _one(name: str, columns: dict[str, Any], splits: tuple[str, ...] = ("train", "test")) -> dict[str, Any]:
    return {name: (columns, splits)}


WNUT_COLUMNS = {"id": "sid", "tokens": "tokens", "ner_tags": ("tags", WNUT)}
REPOS: dict[str, Repo] = {
    "fancyzhx/ag_news": Repo(_one("default", {"text": "text", "label": ("class", AG)}),
                             "data/{split}-{shard:05d}-of-{shards:05d}.parquet"),
    "Yelp/yelp_review_full": Repo(_one("yelp_review_full", {"label": ("class", YELP), "text": "text"})),
    "mteb/AmazonReviewsClassification": Repo(
        {lang: ({"text": "text", "label": ("int", 5)}, ("train", "validation", "test")) for lang in ("de", "en")}),
    "fancyzhx/dbpedia_14": Repo(_one("dbpedia_14", {"label": ("class", DBPEDIA), "title": "text", "content": "text"})),
    "community-datasets/yahoo_answers_topics": Repo(
        _one("yahoo_answers_topics", {"id": "int32", "topic": ("class", YAHOO), "question_title": "text",
                                      "question_content": "text", "best_answer": "text"}), shards={"train": 2}),
    "nyu-mll/glue": Repo({c: (cols, MNLI_SPLITS if c == "mnli" else THREE_SPLITS) for c, cols in GLUE.items()},
                         hidden=True),
    "aps/super_glue": Repo({c: (cols, THREE_SPLITS) for c, cols in SUPER_GLUE.items()}, hidden=True),
    "stanfordnlp/imdb": Repo(_one("plain_text", {"text": "text", "label": ("class", ["neg", "pos"])},
                                  ("train", "test", "unsupervised"))),
    "clinc/clinc_oos": Repo({c: ({"text": "text", "intent": ("class", CLINC)}, THREE_SPLITS)
                             for c in ("imbalanced", "plus", "small")}),
    # A Parquet copy without a card: the features live in the shards' own metadata.
    "lhoestq/conll2003": Repo(
        _one("default", {"id": "sid", "tokens": "tokens", "pos_tags": ("tags", CONLL_POS),
                         "chunk_tags": ("tags", CONLL_CHUNK), "ner_tags": ("tags", CONLL_NER)}, THREE_SPLITS),
        "data/{split}-{shard:05d}-of-{shards:05d}.parquet", card=False),
    # The main branch: a card and a loading script, no data files.
    "leondz/wnut_17": Repo(_one("wnut_17", WNUT_COLUMNS, THREE_SPLITS), script="wnut_17.py"),
    # Its refs/convert/parquet branch, the Hub's own conversion: one folder per config and split, no card.
    "leondz/wnut_17@refs/convert/parquet": Repo(_one("wnut_17", WNUT_COLUMNS, THREE_SPLITS),
                                                "{config}/{split}/{shard:04d}.parquet", card=False),
    "unimelb-nlp/wikiann": Repo(
        {lang: ({"tokens": "tokens", "ner_tags": ("tags", WIKIANN), "langs": "langs", "spans": "spans"}, THREE_SPLITS)
         for lang in ("de", "en")}),
}


def repo_key(name: str, revision: str | None) -> str:
    """The REPOS key of a tasklist source: its name, and the revision unless it is main."""
    return name if revision in (None, "main") else f"{name}@{revision}"


def repo_folder(root: Path, key: str) -> Path:
    """root/owner/name, or root/owner/name@revision (slashes as dashes) for another branch."""
    name, _, revision = key.partition("@")
    folder = root.joinpath(*name.split("/"))
    return folder.with_name(f"{folder.name}@{revision.replace('/', '-')}") if revision else folder


def classes(columns: dict[str, Any]) -> int:
    """How many classes the label column has (the largest ClassLabel or int label)."""
    sizes = [len(k[1]) if k[0] in ("class", "tags") else k[1] for k in columns.values() if isinstance(k, tuple)]
    return max(sizes, default=2)


PerClass = Callable[[str, str, str], "int | list[int]"]  # (repo key, config, hub split) -> rows per class


def small_sizes(key: str, config: str, split: str) -> int | list[int]:
    """A few rows per class: every class in every split, enough to carve dev from train or from test."""
    return 3 if split == "train" else 2


def write_repo(root: Path, key: str, per_class: PerClass = small_sizes) -> Path:
    """The folder standing in for hub repository `key` ('owner/name' or 'owner/name@revision'), written once."""
    repo, folder = REPOS[key], repo_folder(root, key)
    if folder.exists():
        return folder
    folder.mkdir(parents=True)
    card: dict[str, Any] = {"dataset_info": [], "configs": []}
    for config, (columns, splits) in repo.configs.items():
        card["dataset_info"].append({"config_name": config, "features": _card_features(columns)})
        if repo.script is None:
            files = [{"split": s, "path": _write_split(folder, repo, config, s, columns, per_class(key, config, s))}
                     for s in splits]
            card["configs"].append({"config_name": config, "data_files": files,
                                    **({"default": True} if len(repo.configs) == 1 else {})})
    if repo.script is not None:  # a script's card declares features only; the script makes the data
        (folder / repo.script).write_text("import datasets\n\n\nclass Builder(datasets.GeneratorBasedBuilder):\n"
                                          "    pass\n", encoding="utf-8")
        del card["configs"]
    if repo.card:
        front = yaml.safe_dump(card, sort_keys=False, allow_unicode=True)
        (folder / "README.md").write_text(f"---\n{front}---\n# {key}\n", encoding="utf-8")
    return folder


def _write_split(folder: Path, repo: Repo, config: str, split: str, columns: dict[str, Any],
                 per_class: int | list[int]) -> str:
    """Write the split's shards; return the card's data_files pattern for them."""
    from datasets import Dataset

    counts = per_class if isinstance(per_class, list) else [per_class] * classes(columns)
    labels = [c for c, n in enumerate(counts) for _ in range(n)]
    hidden = split == "unsupervised" or (repo.hidden and split in HIDDEN)
    data = {col: [_value(kind, i, y, split, hidden) for i, y in enumerate(labels)] for col, kind in columns.items()}
    ds = Dataset.from_dict(data, features=_features(columns))
    shards = repo.shards.get(split, 1)
    with _quiet_datasets():  # the loader's own quiet mode: no progress bars on stderr
        for shard in range(shards):
            path = folder / repo.path.format(config=config, split=split, shard=shard, shards=shards)
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.shard(shards, shard, contiguous=True).to_parquet(str(path))
    return repo.path.split("{shard", 1)[0].format(config=config, split=split) + "*"




WORDS = ["alpha", "beta", "gamma", "delta", "river", "stone", "cloud", "paper", "music", "engine", "market",
         "player", "forest", "doctor"]


# Sentences of 3-6 words; a row's text adds its split and index, so every text of a repository is unique.
SENTENCES = [" ".join(WORDS[(j * 3 + k * 5) % len(WORDS)] for k in range(3 + j % 4)) for j in range(97)]


def _value(kind: Any, i: int, label: int, split: str, hidden: bool) -> Any:
    length = 3 + (i * 7 + label) % 4
    if kind == "text":
        return f"{SENTENCES[(i * 7 + label) % len(SENTENCES)]} {split}{i}"
    if kind in ("int32", "int64"):
        return i
    if kind == "sid":
        return str(i)
    if kind == "idx":
        return {"paragraph": i % 7, "question": i % 5, "answer": i}
    if kind == "tokens":
        return [WORDS[(i + k) % len(WORDS)].capitalize() for k in range(length)]
    if kind in ("langs", "spans"):
        return ["en"] * length if kind == "langs" else []
    if kind[0] == "tags":
        return _tags(len(kind[1]), i, length)
    return -1 if hidden else label


def _tags(n: int, i: int, length: int) -> list[int]:
    tags = [0] * length
    b = 1 + 2 * (i % ((n - 1) // 2))  # a B- tag; the id after it is its I- tag
    tags[i % (length - 1)] = b
    tags[i % (length - 1) + 1] = b + 1
    return tags


def _features(columns: dict[str, Any]) -> Any:
    from datasets import ClassLabel, Features, List, Value

    out: dict[str, Any] = {}
    for col, kind in columns.items():
        if kind == "text" or kind == "sid":
            out[col] = Value("string")
        elif kind in ("int32", "int64"):
            out[col] = Value(kind)
        elif kind == "idx":
            out[col] = {k: Value("int32") for k in ("paragraph", "question", "answer")}
        elif kind in ("tokens", "langs") or kind == "spans":
            out[col] = List(Value("string"))
        elif kind[0] == "class":
            out[col] = ClassLabel(names=list(kind[1]))
        elif kind[0] == "tags":
            out[col] = List(ClassLabel(names=list(kind[1])))
        else:
            out[col] = Value("int64")
    return Features(out)


def _card_features(columns: dict[str, Any]) -> list[dict[str, Any]]:
    """The card's `dataset_info.features`, written the way the Hub's cards write them."""
    out: list[dict[str, Any]] = []
    for col, kind in columns.items():
        if kind in ("text", "sid"):
            out.append({"name": col, "dtype": "string"})
        elif kind in ("int32", "int64"):
            out.append({"name": col, "dtype": kind})
        elif kind == "idx":
            out.append({"name": col, "struct": [{"name": k, "dtype": "int32"}
                                                 for k in ("paragraph", "question", "answer")]})
        elif kind in ("tokens", "langs", "spans"):
            out.append({"name": col, "sequence": "string"})
        elif kind[0] == "class":
            out.append({"name": col, "dtype": {"class_label": {"names": _names(kind[1])}}})
        elif kind[0] == "tags":
            out.append({"name": col, "sequence": {"class_label": {"names": _names(kind[1])}}})
        else:
            out.append({"name": col, "dtype": "int64"})
    return out


def _names(names: list[str]) -> dict[str, str]:
    return {str(i): n for i, n in enumerate(names)}


def hub_overrides(tasklist: Path, root: Path, per_class: PerClass = small_sizes) -> list[str]:
    """`--set` overrides pointing every hub task of a tasklist at a Hub-shaped folder under `root` (written here).

    Keyed by the tasklist's own (name, revision), so a tasklist naming a script branch gets the script folder.
    """
    from clsweep.loading import read_tasklist
    from clsweep.tasks.spec import deep_merge

    raw = read_tasklist(tasklist)
    out = []
    for task, spec in raw["tasks"].items():
        src = deep_merge(raw.get("defaults") or {}, spec).get("source") or {}
        if src.get("kind") == "hub":
            folder = write_repo(root, repo_key(src["name"], src.get("revision")), per_class)
            out.append(f"tasklist.tasks.{task}.source.name={folder}")
    return out


def as_args(overrides: list[str]) -> list[str]:
    return [arg for item in overrides for arg in ("--set", item)]

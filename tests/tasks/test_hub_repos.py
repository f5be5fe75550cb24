"""The Hub's path, on folders shaped like its repositories: labels from the card, script repositories refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hub_fixtures import CONLL_NER, WIKIANN, WNUT, as_args, hub_overrides, write_repo

from clsweep.cli import main
from clsweep.loading import load_raw, validate
from clsweep.tasks import prepare_tasks

TASKLISTS = Path(__file__).resolve().parents[2] / "tasklists"
NER = TASKLISTS / "ner.yaml"


def _ner(tmp_path: Path, *extra: str) -> list[str]:
    """ner.yaml's hub tasks pointed at Hub-shaped folders, with a private cache and short inputs."""
    return [*hub_overrides(NER, tmp_path / "hub"), f"run.cache_dir={tmp_path / 'cache'}",
            "tasklist.defaults.max_length=16", *extra]


def test_label_names_come_from_the_datasets_classlabel_features(tmp_path: Path, tok) -> None:
    (tmp_path / "exp.yaml").write_text(f"tasklist: {NER}\n")
    unnamed = [f"tasklist.tasks.{t}.label_names=null" for t in ("conll2003", "wnut17", "wikiann")]
    raw, sources = load_raw(tmp_path / "exp.yaml", _ner(tmp_path, *unnamed))
    tasks = prepare_tasks(validate(raw, sources), tok, sources, log=lambda m: None)
    # Card features (wikiann), the shards' own metadata (conll2003's copy, wnut_17's Parquet conversion).
    assert tasks["wikiann"].labels == WIKIANN
    assert tasks["conll2003"].labels == CONLL_NER
    assert tasks["wnut17"].labels == WNUT


def test_the_shipped_label_names_agree_with_the_cards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--data", str(NER), *as_args(_ner(tmp_path))]) == 0
    assert capsys.readouterr().out == f"{NER}: ok\n"


def test_label_names_that_differ_from_the_card_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    swapped = "tasklist.tasks.wikiann.label_names=[O, B-LOC, I-LOC, B-PER, I-PER, B-ORG, I-ORG]"
    assert main(["validate", "--data", str(NER), *as_args(_ner(tmp_path, swapped))]) == 2
    err = capsys.readouterr().err
    # The names came from --set, so --set is blamed (issue 18); the tasklist file is not at fault.
    assert err.startswith("error: --set: tasklist.tasks.wikiann.label_names: the dataset's own label names differ: "
                          f"[{', '.join(WIKIANN)}]; drop label_names or list exactly these")
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["validate", "fetch"])
def test_a_loading_script_repository_names_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   command: str) -> None:
    """leondz/wnut_17's main branch holds wnut_17.py: datasets >= 4 refuses it; the message says what works."""
    main_branch = write_repo(tmp_path / "hub", "leondz/wnut_17")
    args = [*_ner(tmp_path), f"tasklist.tasks.wnut17.source.name={main_branch}",
            "tasklist.tasks.wnut17.source.revision=main"]
    argv = ["validate", "--data", str(NER)] if command == "validate" else ["fetch", str(NER), "--data-dir",
                                                                         str(tmp_path / "data")]
    assert main([*argv, *as_args(args)]) == 2
    err = capsys.readouterr().err
    err = err[err.index("error: "):]  # fetch shows datasets' progress for the tasks before this one
    assert err.startswith("error: --set: tasklist.tasks.wnut17.source.name: "
                          f"cannot load dataset '{main_branch}': it is a dataset loading script (wnut_17.py), "
                          "which datasets >= 4 no longer runs; load a "
                          "script-free copy: the Hub's automatic Parquet conversion (source.revision: "
                          "refs/convert/parquet, with source.config unset)")
    assert "Traceback" not in err and not (tmp_path / "data" / "wnut17").exists()


def test_script_error_from_datasets_is_translated(tmp_path: Path, make_cfg, tok, monkeypatch) -> None:
    """A hub id whose repository is a script: datasets raises; the user reads the same fix."""
    import datasets

    from clsweep.errors import ConfigError

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Dataset scripts are no longer supported, but found wnut_17.py")

    monkeypatch.setattr(datasets, "load_dataset", refuse)
    cfg, sources = make_cfg({"w": {"type": "token", "source": {"kind": "hub", "name": "leondz/wnut_17"},
                                   "text_column": "tokens", "label_column": "ner_tags"}})
    with pytest.raises(ConfigError) as e:
        prepare_tasks(cfg, tok, sources, log=lambda m: None)
    assert "tasks.w.source.name: cannot load dataset 'leondz/wnut_17': it is a dataset loading script " \
           "(wnut_17.py)" in str(e.value) and "refs/convert/parquet" in str(e.value)


def test_trust_remote_code_is_refused_with_the_fix(make_cfg) -> None:
    from clsweep.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        make_cfg({"w": {"source": {"kind": "hub", "name": "x/y", "trust_remote_code": True}}})
    assert "tasks.w.source.trust_remote_code: datasets >= 4 runs no dataset loading scripts" in str(e.value)
    assert "refs/convert/parquet" in str(e.value)

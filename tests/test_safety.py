"""Safety: safe YAML only, no eval/exec/pickle, remote code only when the config asks, config-relative paths,
outputs inside the storage folder. (The dashboard's binding is tested in tests/tune/test_dashboard_binding.py.)"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from clsweep.config import ModelConfig
from clsweep.errors import ConfigError
from clsweep.loading import _UniqueKeyLoader, load_experiment, read_yaml
from clsweep.preflight import inside

PACKAGE = Path(__file__).parents[1] / "clsweep"
SOURCES = {p: p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}

FORBIDDEN = {
    r"(?<![.\w])eval\(": "eval() of text",
    r"(?<![.\w])exec\(": "exec() of text",
    r"yaml\.(unsafe_load|full_load|load_all)\(|Loader=yaml\.(Unsafe|Full)?Loader": "unsafe YAML loading",
    r"\bpickle\.loads?\(|\bdill\.|\bcloudpickle\.": "unpickling",
    r"trust_remote_code\s*=\s*True": "remote code enabled regardless of the config",
    r"weights_only\s*=\s*False": "torch.load of arbitrary pickles",
}


@pytest.mark.parametrize("pattern", list(FORBIDDEN), ids=list(FORBIDDEN.values()))
def test_the_package_never(pattern: str) -> None:
    hits = [f"{p.relative_to(PACKAGE)}:{n}" for p, text in SOURCES.items()
            for n, line in enumerate(text.splitlines(), 1) if re.search(pattern, line)]
    assert not hits, f"{FORBIDDEN[pattern]}: {hits}"


def test_every_torch_load_is_weights_only_and_yaml_is_safe() -> None:
    for path, text in SOURCES.items():
        for line in text.splitlines():
            if "torch.load(" in line:
                assert "weights_only=True" in line, path
            if "yaml.load(" in line:
                assert "Loader=_UniqueKeyLoader" in line, path
    assert issubclass(_UniqueKeyLoader, yaml.SafeLoader)


def test_yaml_tags_cannot_construct_objects(tmp_path: Path) -> None:
    bad = tmp_path / "exp.yaml"
    bad.write_text("train: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(ConfigError, match="could not determine a constructor"):
        read_yaml(bad)
    assert not Path("pwned").exists() and not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("trust", [False, True])
def test_trust_remote_code_comes_only_from_the_config(trust: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    from clsweep.models.backbone import load_backbone

    calls: list[dict[str, object]] = []

    def record(name: str, **kwargs: object) -> object:
        calls.append(kwargs)
        return object()

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", record)
    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", record)
    load_backbone(ModelConfig(backbone="someone/model", trust_remote_code=trust))
    assert [c["trust_remote_code"] for c in calls] == [trust, trust]
    assert ModelConfig().trust_remote_code is False
    # A generative LM (text2text tasks): its config and model are read with the same setting.
    calls.clear()
    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained",
                        lambda name, **kw: calls.append(kw) or SimpleNamespace(is_encoder_decoder=False))
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", record)
    load_backbone(ModelConfig(backbone="someone/model", trust_remote_code=trust), generative=True)
    assert [c["trust_remote_code"] for c in calls] == [trust, trust, trust]


def test_paths_in_a_config_resolve_relative_to_that_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    study = tmp_path / "study"
    (study / "data").mkdir(parents=True)
    (study / "data" / "train.csv").write_text("text,label\na,x\nb,y\n")
    (study / "tl.yaml").write_text("tasks:\n  t: {source: {kind: files, train: data/train.csv}}\n")
    (study / "exp.yaml").write_text("tasklist: tl.yaml\nrun: {storage_path: out, cache_dir: cache}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_experiment(Path("../study/exp.yaml"))
    assert Path(cfg.task("t").source.train).resolve() == study / "data" / "train.csv"  # type: ignore[union-attr]
    assert Path(cfg.run.storage_path).resolve() == study / "out"
    assert Path(cfg.run.cache_dir or "").resolve() == study / "cache"
    # Typed on the command line, a path is relative to where it was typed.
    cfg = load_experiment(Path("../study/exp.yaml"), ["run.storage_path=mine"])
    assert Path(cfg.run.storage_path) == elsewhere / "mine"
    assert load_experiment(study / "exp.yaml", ["run.storage_path=s3://b/x"]).run.storage_path == "s3://b/x"


@pytest.mark.parametrize("name", ["../x", "a/../../b", "/etc", "..", "."])
def test_outputs_never_land_outside_the_storage_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="outside"):
        inside(tmp_path / "runs", name, "exp.yaml")
    assert inside(tmp_path / "runs", "ewc_sweep", "exp.yaml") == (tmp_path / "runs" / "ewc_sweep").resolve()

"""Misspelt and mistyped options are never silently dropped: each is refused before any data loads,
with exit code 2 and one stderr line that names the key, the valid keys and the closest match."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from zsbench.cli.main import cli
from zsbench.errors import UsageError
from zsbench.options import NoOptions, OptionSet, checked_options, parse_option_set
from zsbench.registry import DATASETS, TEXT_ENCODERS, Registry, RegistryEntry

TINY = ["--n-images", "200", "--image-size", "32", "--epochs", "1"]

# (id, argv with {d} for a scratch folder, what the one line must contain)
CASES = [
    ("dataset-option-misspelt", ["run", "--dataset-option", "stat=nih"],
     "unknown dataset 'synthetic' option 'stat'; valid: stats; did you mean 'stats'?"),
    ("dataset-option-not-a-string", ["run", "--dataset-option", "stats=3"],
     "dataset 'synthetic' option stats: Input should be a valid string (got 3)"),
    ("nih-takes-no-option", ["run", "--dataset", "nih", "--split", "nih-paper", "--dataset-option", "views=all"],
     "unknown dataset 'nih' option 'views': it takes no options"),
    ("chexpert-option-misspelt", ["run", "--dataset", "chexpert", "--split", "chexpert-random-u3",
                                  "--dataset-option", "uncertian=ones"],
     "did you mean 'uncertain'?"),
    ("padchest-option-mistyped", ["run", "--dataset", "padchest", "--dataset-option", "min_count=many"],
     "dataset 'padchest' option min_count: Input should be a valid integer"),
    ("csv-option-misspelt", ["run", "--dataset", "csv", "--dataset-option", "image_colum=path"],
     "did you mean 'image_column' or"),
    ("text-option-minilm", ["run", "--text-option", "poolng=cls"],
     "unknown text encoder 'minilm' option 'poolng': it takes no options"),
    ("text-option-hf-misspelt", ["run", "--text-encoder", "hf:some/model", "--text-option", "poolng=cls"],
     "unknown text encoder 'hf' option 'poolng'; valid: cache, layer, pooling; did you mean 'pooling'?"),
    ("text-option-hf-alias-mistyped", ["run", "--text-encoder", "biobert", "--text-option", "cache=maybe"],
     "text encoder 'biobert' option cache: Input should be a valid boolean"),
    ("text-option-precomputed", ["run", "--text-encoder", "precomputed:x.npy", "--text-option", "clases=A"],
     "did you mean 'classes'?"),
    ("text-option-random", ["run", "--text-encoder", "random", "--text-option", "dim=8"],
     "unknown text encoder 'random' option 'dim': it takes no options"),
    ("method-option-misspelt", ["run", "--method", "lesa", "--method-option", "frozn=false"],
     "did you mean 'frozen'?"),
    ("method-option-mistyped", ["run", "--method", "lesa", "--method-option", "heads=two"],
     "lesa option heads must be int (got 'two')"),
    ("cxr-option-misspelt", ["run", "--method-option", "gamma_con2=0.1"],
     "did you mean 'gamma_con'"),
    ("run-flag-misspelt", ["run", "--epoch", "3"], "Did you mean '--epochs'?"),
    ("run-flag-mistyped", ["run", "--epochs", "three"], "'three' is not a valid integer"),
    ("config-file-key-misspelt", ["run", "--config", "{d}/run.yaml"], "did you mean 'epochs'?"),
    ("sweep-dataset-option-misspelt", ["sweep", "--methods", "linear", "--out", "{d}/sw", *TINY,
                                       "--dataset-option", "stat=nih"], "did you mean 'stats'?"),
    ("sweep-text-option-misspelt", ["sweep", "--methods", "linear", "--out", "{d}/sw", *TINY,
                                    "--text-encoders", "hf:x", "--text-option", "layr=last"], "did you mean 'layer'?"),
    ("sweep-file-key-misspelt", ["sweep", "--config", "{d}/sweep-key.yaml", "--out", "{d}/sw"],
     "unknown keys method; known: methods, backbones, text_encoders, class_texts, splits, seeds, random, base; "
     "did you mean 'methods'?"),
    ("sweep-file-random-key-misspelt", ["sweep", "--config", "{d}/sweep-random.yaml", "--out", "{d}/sw"],
     "unknown keys under 'random:': n_unsen; known: count, n_unseen, seed, min_coverage; did you mean 'n_unseen'?"),
    ("sweep-file-base-key-misspelt", ["sweep", "--config", "{d}/sweep-base.yaml", "--out", "{d}/sw"],
     "did you mean 'n_images' or"),
    ("sweep-file-dataset-option-misspelt", ["sweep", "--config", "{d}/sweep-dopt.yaml", "--out", "{d}/sw"],
     "did you mean 'stats'?"),
    ("split-file-key-misspelt", ["run", "--split", "{d}/split.yaml"],
     "unknown key 'keep_no_findng'; did you mean 'keep_no_finding'"),
    ("split-file-seen-not-a-list", ["run", "--split", "{d}/split-str.yaml"],
     "'seen:' must be a list of class names"),
    ("split-file-part-misspelt", ["run", "--split", "{d}/split-part.yaml"],
     "'keep_no_finding:' must be a list of parts among train, val, test"),
    ("sweep-set-field-misspelt", ["sweep", "--methods", "linear", "--out", "{d}/sw", *TINY, "--set", "weight_decy=0"],
     "unknown config keys weight_decy; known:"),
    ("sweep-file-random-mistyped", ["sweep", "--config", "{d}/sweep-random-type.yaml", "--out", "{d}/sw"],
     "sweep config 'random:' count: Input should be a valid integer"),
    ("config-file-value-mistyped", ["run", "--config", "{d}/run-type.yaml"],
     "--epochs: Input should be a valid integer (got 'ten')"),
    ("run-flag-choice-misspelt", ["run", "--augment", "papr"], "'papr' is not one of 'auto', 'shift', 'paper', 'none'"),
]

FILES = {
    "run.yaml": "epoch: 3\n",
    "sweep-key.yaml": "method: [linear]\n",
    "sweep-random.yaml": "methods: [linear]\nrandom: {count: 2, n_unsen: 4}\n",
    "sweep-base.yaml": "methods: [linear]\nbase: {n_image: 200}\n",
    "sweep-dopt.yaml": "methods: [linear]\nbase: {n_images: 200, dataset_options: {stat: nih}}\n",
    "split.yaml": "name: s\nseen: [Atelectasis, Effusion]\nunseen: [Edema]\nkeep_no_findng: []\n",
    "split-str.yaml": "name: s\nseen: Atelectasis\nunseen: [Edema]\n",
    "split-part.yaml": "name: s\nseen: [Atelectasis]\nunseen: [Edema]\nkeep_no_finding: [tests]\n",
    "sweep-random-type.yaml": "methods: [linear]\nrandom: {count: many}\n",
    "run-type.yaml": "epochs: ten\n",
}


@pytest.mark.parametrize(("argv", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_misspelt_or_mistyped_option_is_one_line_exit_2(argv, needle, tmp_path):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    args = [a.format(d=tmp_path) for a in argv]
    if args[0] == "run":
        args += ["--out", str(tmp_path / "runs")]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    lines = res.stderr.strip().splitlines()
    assert res.exit_code == 2, res.output
    assert len(lines) == 1 and needle in lines[0], res.stderr
    for out in (tmp_path / "runs", tmp_path / "sw" / "runs"):  # nothing ran, nothing was written
        assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]


def test_the_table_covers_at_least_20_cases_across_every_source():
    assert len(CASES) >= 20
    sources = {c[0].split("-")[0] for c in CASES}
    assert {"dataset", "text", "method", "run", "sweep", "split", "config"} <= sources


def test_every_builtin_dataset_and_text_encoder_declares_its_options():
    for registry in (DATASETS, TEXT_ENCODERS):
        for entry in registry.entries():
            if entry.origin == "built-in":
                model = entry.options_model()
                assert isinstance(model, type) and issubclass(model, BaseModel), entry.name
                assert model.model_config.get("extra") == "forbid", entry.name


def test_checked_options_keep_only_what_was_set_and_coerce_values():
    class Opts(OptionSet):
        pooling: str = "mean"
        cache: bool = True
        count: int = 1

    assert checked_options(Opts, {"cache": "false", "count": "3"}, "x") == {"cache": False, "count": 3}
    assert checked_options(Opts, {}, "x") == {}
    assert checked_options(None, {"anything": 1}, "x") == {"anything": 1}  # undeclared: unchecked
    with pytest.raises(UsageError, match=r"^unknown x option 'cach'; valid: cache, count, pooling; did you mean"):
        parse_option_set(Opts, {"cach": True}, "x")
    with pytest.raises(UsageError, match="it takes no options"):
        parse_option_set(NoOptions, {"a": 1}, "y")


def test_a_plugin_factory_declares_options_through_options_model(tmp_path: Path):
    class PluginOptions(OptionSet):
        depth: int = 2

    def create(**kwargs):
        return kwargs

    create.options_model = PluginOptions  # what a third-party factory sets; read after lazy loading
    registry: Registry = Registry("dataset", "zsbench.test-nothing")
    registry.add(RegistryEntry("mine", create, origin="my-plugin 0.1"))
    assert registry.check_options("mine", {"depth": "4"}) == {"depth": 4}
    with pytest.raises(UsageError, match="unknown dataset 'mine' option 'dept'; valid: depth; did you mean 'depth'"):
        registry.check_options("mine", {"dept": 4})

"""Frozen-backbone feature cache: miss then hit across splits and seeds, keys, warm == cold, checkpoints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from tests.imaging import write_png
from zsbench.backbones.base import FeatureInput, prepare_batch
from zsbench.checkpoint import load_checkpoint
from zsbench.cli.main import cli
from zsbench.config import RunConfig
from zsbench.data.random_splits import make_random_splits
from zsbench.data.synthetic.world import SyntheticWorld
from zsbench.engine.feature_cache import (
    FeatureCache,
    FeatureStandIn,
    cache_folder,
    extract_features,
    restore_backbone,
    use_features,
)
from zsbench.engine.trainer import score_images
from zsbench.results import to_json
from zsbench.runner import build_model, create_dataset, run

CPU = torch.device("cpu")
TEXT_DIM = 32


def _config(tmp: Path, **changes: object) -> RunConfig:
    base = RunConfig(method="lesa", n_images=200, image_size=32, epochs=1, batch_size=16,
                     text_encoder="random", device="cpu", out=str(tmp / "runs"),
                     feature_cache=str(tmp / "features"))
    return base.replace(**changes)


def _random_split_file(tmp: Path) -> str:
    dataset = SyntheticWorld(n_images=200, image_size=32, seed=0)
    split = make_random_splits(dataset.table(), "synthetic", n_unseen=4, count=1, seed=3)[0]
    path = tmp / f"{split.name}.yaml"
    path.write_text(yaml.safe_dump(split.to_dict(), sort_keys=False))
    return str(path)


class CountingLoads:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = SyntheticWorld.load_images

        def counted(world: SyntheticWorld, ids: np.ndarray, progress: object = None) -> np.ndarray:
            self.calls += 1
            return original(world, ids, progress)

        monkeypatch.setattr(SyntheticWorld, "load_images", counted)


def _scores(run_dir: Path) -> np.ndarray:
    with np.load(run_dir / "scores.npz") as data:
        return data["scores"]


@pytest.fixture(scope="module")
def cached_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A cold run, the same run warm, and another split with another seed, all on one cache."""
    tmp = tmp_path_factory.mktemp("feature-cache")
    cold = run(_config(tmp))
    warm = run(_config(tmp))
    mp = pytest.MonkeyPatch()
    try:
        loads = CountingLoads(mp)
        other = run(_config(tmp, seed=1, split=_random_split_file(tmp)))
    finally:
        mp.undo()
    return {"tmp": tmp, "cold": cold, "warm": warm, "other": other, "other_loads": loads.calls}


def test_cold_run_misses_and_fills_the_cache(cached_runs):
    record = cached_runs["cold"].result["feature_cache"]
    assert record["used"] is True and record["hit"] is False and record["augment"] is False
    assert {p["status"] for p in record["parts"].values()} == {"miss"}
    folder = Path(record["dir"])
    for part in record["parts"].values():
        sidecar = json.loads((folder / part["file"]).with_suffix(".json").read_text())
        assert sidecar["key"] == record["key"] and sidecar["feature_kind"] == "map"
        assert sidecar["n_images"] == part["stored_images"]
    assert cached_runs["cold"].result["seeds"]["backbone_init_seed"] == 0


def test_warm_run_equals_cold_run(cached_runs):
    cold, warm = cached_runs["cold"], cached_runs["warm"]
    assert warm.result["feature_cache"]["hit"] is True
    assert warm.result["feature_cache"]["key"] == cold.result["feature_cache"]["key"]
    assert to_json(warm.result["metrics"]) == to_json(cold.result["metrics"])
    np.testing.assert_array_equal(_scores(warm.run_dir), _scores(cold.run_dir))


def test_other_split_and_seed_hit_without_loading_an_image(cached_runs):
    other, cold = cached_runs["other"], cached_runs["cold"]
    assert other.result["class_split"]["unseen"] != cold.result["class_split"]["unseen"]
    assert other.result["seeds"] == {"seed": 1, "data_seed": 0, "backbone_init_seed": 0}
    assert cached_runs["other_loads"] == 0
    record = other.result["feature_cache"]
    assert record["hit"] is True and record["key"] == cold.result["feature_cache"]["key"]
    # the cached features are what the seed-1 model's own backbone computes from the images
    config = _config(cached_runs["tmp"], seed=1)
    dataset = create_dataset(config)
    model = build_model(config, dataset, TEXT_DIM, 14, CPU)
    table = dataset.table()
    ids = [str(i) for i in table.ids[table.part == "val"]]
    stored = torch.load(Path(record["dir"]) / record["parts"]["val"]["file"], weights_only=True)
    assert stored["ids"] == ids
    np.testing.assert_array_equal(stored["features"].numpy(), extract_features(model, dataset, ids, CPU))


def test_checkpoint_of_a_cached_run_reloads_and_predicts(cached_runs, tmp_path):
    run_dir = cached_runs["cold"].run_dir
    loaded = load_checkpoint(run_dir / "best.pt", device=CPU)
    assert not isinstance(loaded.model.backbone, FeatureStandIn)
    with np.load(run_dir / "scores.npz") as data:
        ids, expected = data["image_ids"][:8], data["scores"][:8]
    dataset = create_dataset(_config(cached_runs["tmp"]))
    pixels = dataset.load_images(ids)
    scores = score_images(loaded.model, pixels, torch.from_numpy(loaded.class_embeddings))
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)
    paths = [str(write_png(tmp_path / f"{i}.png", pixels[k, 0])) for k, i in enumerate(ids[:3])]
    res = CliRunner().invoke(cli, ["predict", "--checkpoint", str(run_dir / "best.pt"), *paths,
                                   "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)["images"]) == 3


def test_damaged_cache_files_are_recomputed(cached_runs, tmp_path):
    record = cached_runs["cold"].result["feature_cache"]
    folder = tmp_path / "features"
    shutil.copytree(record["dir"], folder)
    (folder / record["parts"]["train"]["file"]).write_bytes(b"not a torch file")
    val = folder / record["parts"]["val"]["file"]
    blob = bytearray(val.read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # one flipped byte inside the stored features
    val.write_bytes(bytes(blob))
    config = _config(cached_runs["tmp"], feature_cache=str(folder), out=str(tmp_path / "runs"))
    again = run(config)
    parts = again.result["feature_cache"]["parts"]
    assert (parts["train"]["status"], parts["val"]["status"], parts["test"]["status"]) == ("corrupt", "corrupt", "hit")
    assert to_json(again.result["metrics"]) == to_json(cached_runs["cold"].result["metrics"])
    for part in ("train", "val"):  # written again, and equal to what the cold run stored
        rewritten = torch.load(folder / parts[part]["file"], weights_only=True)
        original = torch.load(Path(record["dir"]) / parts[part]["file"], weights_only=True)
        torch.testing.assert_close(rewritten["features"], original["features"], rtol=0, atol=0)


def _cache_key(config: RunConfig) -> str:
    dataset = create_dataset(config)
    return FeatureCache.for_run(config, build_model(config, dataset, TEXT_DIM, 14, CPU), dataset, CPU).key


def test_key_follows_weights_and_preprocessing_not_the_run_seed(tmp_path):
    config = _config(tmp_path)
    key = _cache_key(config)
    assert _cache_key(config.replace(seed=5)) == key  # frozen backbone: initialised from the data seed
    assert _cache_key(config.replace(image_size=48)) != key
    dataset = create_dataset(config)
    model = build_model(config, dataset, TEXT_DIM, 14, CPU)
    with torch.no_grad():
        next(model.backbone.parameters())[0].add_(1e-3)
    assert FeatureCache.for_run(config, model, dataset, CPU).key != key


def test_unfrozen_backbones_keep_the_run_seed():
    config = RunConfig(method="linear", n_images=200, image_size=32, text_encoder="random", device="cpu")
    dataset = create_dataset(config)
    a = build_model(config, dataset, TEXT_DIM, 14, CPU)
    b = build_model(config.replace(seed=1), dataset, TEXT_DIM, 14, CPU)
    assert not torch.equal(next(a.backbone.parameters()), next(b.backbone.parameters()))
    assert FeatureCache.for_run(config, a, dataset, CPU).record() == {"used": False,
                                                                     "reason": "the backbone is trained"}


def test_cache_is_off_when_asked_or_with_tencrop(tmp_path):
    config = _config(tmp_path)
    dataset = create_dataset(config)
    model = build_model(config, dataset, TEXT_DIM, 14, CPU)
    assert not FeatureCache.for_run(config.replace(feature_cache=None), model, dataset, CPU).used
    assert "tencrop" in FeatureCache.for_run(config, model, dataset, CPU, tta="tencrop").reason
    assert cache_folder(config.replace(feature_cache="auto")) == tmp_path / "runs" / ".features"
    res = CliRunner().invoke(cli, ["run", "--feature-cache", str(tmp_path), "--no-feature-cache"])
    assert res.exit_code == 2 and "contradict" in res.output


def test_stand_in_mirrors_the_backbone_and_passes_features_through(tmp_path):
    config = _config(tmp_path)
    dataset = create_dataset(config)
    model = build_model(config, dataset, TEXT_DIM, 14, CPU)
    real, keys = model.backbone, list(model.state_dict())
    pixels = torch.from_numpy(dataset.load_images(dataset.table().ids[:4]))
    embeddings = torch.randn(14, TEXT_DIM)
    model.eval()
    with torch.no_grad():
        expected = model(pixels, embeddings)
        feats = real.forward_features(prepare_batch(pixels, real.preprocess))
        use_features(model)
        assert isinstance(model.backbone.preprocess, FeatureInput)
        assert list(model.state_dict()) == keys
        torch.testing.assert_close(model(feats, embeddings), expected)
        restore_backbone(model)
    assert model.backbone is real and list(model.state_dict()) == keys


def test_gzsl_selection_trains_its_probe_on_cached_features(cached_runs):
    result = run(_config(cached_runs["tmp"], selection="gzsl")).result
    assert result["feature_cache"]["hit"] is True
    assert result["training"]["selection"]["chosen_epochs"] == 1


def test_key_follows_the_synthetic_world_version(tmp_path, monkeypatch):
    # a feature file of an older synthetic world must never be reused after its drawing changed
    import zsbench.data.synthetic.world as world

    config = _config(tmp_path)
    key = _cache_key(config)
    assert create_dataset(config).describe()["world_version"] == world.WORLD_VERSION
    monkeypatch.setattr(world, "WORLD_VERSION", world.WORLD_VERSION + 1)
    assert _cache_key(config) != key

"""Input pipeline: mapped cache rows, the background prefetcher, worker-process decoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tests.imaging import write_png
from zsbench.backbones.tiny_cnn import TinyCNN
from zsbench.config import RunConfig
from zsbench.data.csv_source import CsvDataset
from zsbench.data.mapped_rows import MappedRows, subset
from zsbench.data.pixel_cache import prepare_cache
from zsbench.engine.prefetch import Prefetcher, gather_batch
from zsbench.engine.trainer import TrainData, TrainHooks, TrainSettings, ZeroShotModel, score_images, train
from zsbench.errors import DataError, UsageError
from zsbench.methods.cxr_ml_gzsl import CxrMlGzsl, CxrMlGzslConfig
from zsbench.run_setup import create_dataset

CPU = torch.device("cpu")


@pytest.fixture
def mapped(tmp_path):
    """A 12-row memmap and a view of 7 of its rows (unsorted), with the in-RAM array it stands for."""
    rng = np.random.default_rng(0)
    source = np.memmap(tmp_path / "px.u8", dtype=np.uint8, mode="w+", shape=(12, 5, 5))
    source[:] = rng.integers(0, 256, (12, 5, 5), dtype=np.uint8)
    source.flush()
    source = np.memmap(tmp_path / "px.u8", dtype=np.uint8, mode="r", shape=(12, 5, 5))
    rows = np.array([9, 2, 7, 0, 11, 4, 5])
    return MappedRows(source, rows), np.asarray(source)[rows][:, None]


@pytest.mark.parametrize("key", [
    3, -1, slice(None), slice(1, 5), slice(None, None, -2), slice(6, 100),
    np.array([4, 0, 6, 0, 4]), np.array([], dtype=np.int64), [2, 1],
    np.array([True, False, True, True, False, False, True]), (2, 0), (slice(1, 3), 0, slice(None, 2)),
    (np.array([1, 2]), np.array([0, 0])), (np.array([5, 1]), 0, 3),
])
def test_mapped_rows_index_as_the_array_in_ram(mapped, key):
    view, ram = mapped
    got = view[key]
    assert isinstance(got, np.ndarray) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, ram[key])


def test_mapped_rows_look_like_the_array(mapped):
    view, ram = mapped
    assert len(view) == 7 and view.shape == ram.shape and view.dtype == np.uint8 and view.ndim == 4
    np.testing.assert_array_equal(np.asarray(view), ram)
    mask = np.array([True, False, True, True, False, False, True])
    lazy = subset(view, mask)
    assert isinstance(lazy, MappedRows)
    np.testing.assert_array_equal(np.asarray(lazy), ram[mask])
    out = np.zeros((3, 1, 5, 5), dtype=np.uint8)
    assert view.take(np.array([6, 1, 3]), out=out) is out
    np.testing.assert_array_equal(out, ram[[6, 1, 3]])
    with pytest.raises(IndexError):
        view[7]
    with pytest.raises(IndexError):
        view[np.array([True, False])]


def test_prefetcher_yields_the_batches_in_order(mapped):
    view, ram = mapped
    batches = [np.array([3, 1]), np.array([6, 6, 0]), slice(2, 5), np.array([5])]
    for pixels in (view, ram):
        with Prefetcher(pixels, batches, CPU, depth=1) as gathered:
            got = list(gathered)
        assert len(got) == len(batches)
        for batch, index in zip(got, batches, strict=True):
            assert batch.dtype == torch.uint8
            np.testing.assert_array_equal(batch.numpy(), ram[index])
    assert gather_batch(ram, slice(0, 2)).shape == (2, 1, 5, 5)


def test_prefetcher_raises_the_threads_error_and_stops(mapped):
    view, _ = mapped
    prefetcher = Prefetcher(view, [np.array([0, 1]), np.array([99])], CPU)
    got = []
    with pytest.raises(IndexError), prefetcher:
        for batch in prefetcher:
            got.append(batch)
    assert len(got) == 1 and not prefetcher.alive


def test_prefetcher_stops_its_thread_on_early_exit(mapped):
    view, _ = mapped
    prefetcher = Prefetcher(view, [np.array([k % 7]) for k in range(50)], CPU, depth=2)
    with prefetcher:
        for _batch in prefetcher:
            break  # an early stop: the thread is blocked on a full queue
    assert not prefetcher.alive
    with pytest.raises(RuntimeError, match="consumer"), Prefetcher(view, [np.array([0])] * 5, CPU) as p:
        for _batch in p:
            raise RuntimeError("the consumer failed")
    assert not p.alive


def _csv_dataset(tmp_path, n=9, size=12, cache=None):
    rng = np.random.default_rng(1)
    for k in range(n):
        write_png(tmp_path / f"im{k}.png", rng.integers(0, 256, (20 + k, 17), dtype=np.uint8))
    pd.DataFrame({"path": [f"im{k}.png" for k in range(n)], "labels": ""}).to_csv(tmp_path / "l.csv", index=False)
    return CsvDataset(tmp_path / "l.csv", root=tmp_path, image_size=size, cache=cache or tmp_path / "no-cache")


def test_worker_decoding_gives_the_pixels_of_one_by_one(tmp_path):
    dataset = _csv_dataset(tmp_path)
    ids = dataset.table().ids[::-1]  # not the file order
    one = dataset.load_images(ids)
    dataset.decode_workers = 2
    seen = []
    two = dataset.load_images(ids, progress=lambda done, total: seen.append((done, total)))
    assert isinstance(two, np.ndarray) and two.shape == (9, 1, 12, 12)
    np.testing.assert_array_equal(one, two)
    assert seen[-1] == (9, 9)
    with dataset.decoding():  # one set of workers for both loads
        np.testing.assert_array_equal(dataset.load_images(ids[:4]), one[:4])
        np.testing.assert_array_equal(dataset.load_images(ids), one)
    (tmp_path / "im3.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=r"im3\.png is corrupt"):
        dataset.load_images(ids)
    (tmp_path / "im3.png").unlink()
    with pytest.raises(UsageError, match=r"^image im3\.png not found under .*--allow-missing$"):
        dataset.load_images(ids)


def test_a_prepared_cache_stays_mapped(tmp_path):
    decoded = _csv_dataset(tmp_path)
    ids = decoded.table().ids
    prepare_cache(tmp_path / "cache", list(ids), 12, "csv", decoded.read_resized)
    cached = CsvDataset(tmp_path / "l.csv", root=tmp_path, image_size=12, cache=tmp_path / "cache")
    view = cached.load_images(ids[[4, 1, 8]])
    assert isinstance(view, MappedRows)
    expected = decoded.load_images(ids[[4, 1, 8]])
    np.testing.assert_array_equal(np.asarray(view), expected)

    class Mean(torch.nn.Module):  # a stand-in model: the score is each image's mean grey
        backbone = type("B", (), {"preprocess": type("P", (), {"input_size": 12})()})()

        def forward(self, pixels, embeddings):
            return pixels.float().mean(dim=(1, 2, 3))[:, None].expand(-1, len(embeddings))

    scores = score_images(Mean(), view, torch.zeros(2, 3), batch_size=2)
    np.testing.assert_allclose(scores[:, 0], expected.mean(axis=(1, 2, 3)), rtol=1e-6)


def test_training_on_mapped_rows_is_bit_identical(tmp_path):
    rng = np.random.default_rng(2)
    source = np.memmap(tmp_path / "px.u8", dtype=np.uint8, mode="w+", shape=(40, 16, 16))
    source[:] = rng.integers(0, 256, (40, 16, 16), dtype=np.uint8)
    rows = rng.permutation(40)[:36]
    labels = (rng.random((36, 3)) < 0.4).astype(np.float32)
    settings = TrainSettings(epochs=2, batch_size=8, lr=1e-3, weight_decay=0.0, lr_factor=0.1, lr_patience=5,
                             seed=0, augment="paper")
    weights = []
    for pixels in (np.asarray(source)[rows][:, None].copy(), MappedRows(source, rows)):
        torch.manual_seed(0)
        backbone = TinyCNN(input_size=16)
        model = ZeroShotModel(backbone, CxrMlGzsl(backbone.feature_dim, 8, CxrMlGzslConfig()))
        emb = torch.randn(3, 8, generator=torch.Generator().manual_seed(1))
        train(model, TrainData(pixels, labels, emb), settings, TrainHooks(validate=lambda m: 0.5))
        weights.append(model.state_dict())
    for key, value in weights[0].items():
        assert torch.equal(value, weights[1][key]), key


def test_a_pinned_gather_fills_its_buffer(monkeypatch, mapped):
    view, ram = mapped
    real_empty = torch.empty  # no CUDA here: stand in an ordinary buffer for the pinned one

    def empty(*args, pin_memory=False, **kwargs):
        assert pin_memory
        return real_empty(*args, **kwargs)

    monkeypatch.setattr(torch, "empty", empty)
    for pixels in (view, ram):
        np.testing.assert_array_equal(gather_batch(pixels, np.array([3, 1, 3]), pin=True).numpy(), ram[[3, 1, 3]])
        np.testing.assert_array_equal(gather_batch(pixels, slice(2, 6), pin=True).numpy(), ram[2:6])


def test_the_run_config_sets_the_decode_workers(tmp_path):
    _csv_dataset(tmp_path, n=3)
    config = RunConfig(dataset="csv", metadata=str(tmp_path / "l.csv"), root=str(tmp_path))
    assert create_dataset(config).decode_workers == 1
    assert create_dataset(config.replace(decode_workers=2)).decode_workers == 2
    # how fast files decode changes no result: resumes and sweep run hashes ignore it
    assert config.replace(decode_workers=2).identity() == config.identity()

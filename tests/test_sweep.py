"""zsbench sweep: grid planning, random splits, skip/refuse/resume, failures, pool and Ray executors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from zsbench.cli.main import cli
from zsbench.errors import UsageError
from zsbench.sweep import RandomSplits, SweepEvent, SweepGrid, build_plan, load_plan, run_sweep
from zsbench.sweep.driver import plan_sweep
from zsbench.sweep.executors import PoolExecutor, make_executor

# the smallest runs that still train, validate and test
TINY_BASE = {"n_images": 200, "image_size": 32, "epochs": 1, "batch_size": 16, "device": "cpu",
             "text_encoder": "random"}
TINY_FLAGS = ["--n-images", "200", "--image-size", "32", "--batch-size", "16", "--device", "cpu",
              "--text-encoders", "random"]


def invoke(*args: str):
    return CliRunner().invoke(cli, ["sweep", *args], catch_exceptions=False)


def tiny_grid(**changes) -> SweepGrid:
    base = {k: v for k, v in TINY_BASE.items() if k != "text_encoder"}
    grid = {"methods": ["cxr-ml-gzsl", "linear"], "text_encoders": ["random"], "base": base}
    return SweepGrid.from_dict({**grid, **changes})


def result_mtime(run_dir: Path) -> int:
    return (run_dir / "result.json").stat().st_mtime_ns


def test_grid_expands_in_axis_order_into_deterministic_run_dirs(tmp_path):
    grid = tiny_grid(seeds=[0, 1])
    plan = build_plan(grid, tmp_path / "a", write_splits=False)
    assert [(r.config.method, r.config.seed) for r in plan.runs] == [
        ("cxr-ml-gzsl", 0), ("cxr-ml-gzsl", 1), ("linear", 0), ("linear", 1)]
    assert all(r.config.split == "synthetic-paper" and r.config.n_images == 200 for r in plan.runs)
    assert plan.runs[0].run_dir.startswith("runs/cxr_ml_gzsl-tiny_cnn-random-description-synthetic_paper-s0-")
    assert all(r.config.out == str((tmp_path / "a" / "runs").resolve()) for r in plan.runs)
    # the same grid names the same folders, wherever the sweep lives; another setting, others
    again = build_plan(grid, tmp_path / "b", write_splits=False)
    assert [r.run_dir for r in again.runs] == [r.run_dir for r in plan.runs]
    longer = build_plan(tiny_grid(seeds=[0, 1], base={**grid.base, "epochs": 2}), tmp_path / "a", write_splits=False)
    assert not {r.run_dir for r in longer.runs} & {r.run_dir for r in plan.runs}
    assert not (tmp_path / "a").exists()  # planning alone writes nothing


def test_grid_refuses_bad_input(tmp_path):
    with pytest.raises(UsageError, match="more than once"):
        build_plan(tiny_grid(seeds=[1, 1]), tmp_path, write_splits=False)
    with pytest.raises(UsageError, match="unknown method 'bogus'"):
        build_plan(tiny_grid(methods=["bogus"]), tmp_path, write_splits=False)
    with pytest.raises(UsageError, match="both in base and as the grid axis"):
        build_plan(tiny_grid(base={"seed": 3}, seeds=[0]), tmp_path, write_splits=False)
    with pytest.raises(UsageError, match="unknown keys"):
        SweepGrid.from_dict({"method": ["linear"]})
    with pytest.raises(UsageError, match="unknown config keys"):
        build_plan(tiny_grid(base={"epochz": 1}), tmp_path, write_splits=False)


def test_random_splits_are_written_and_deterministic_per_seed(tmp_path):
    def splits(out: Path, seed: int) -> list[dict]:
        plan = build_plan(tiny_grid(methods=["linear"], random={"count": 3, "n_unseen": 3, "seed": seed}), out)
        assert [Path(r.config.split).parent for r in plan.runs] == [(out / "splits").resolve()] * 3
        return [yaml.safe_load(Path(r.config.split).read_text()) for r in plan.runs]

    first, same, other = splits(tmp_path / "a", 0), splits(tmp_path / "b", 0), splits(tmp_path / "c", 1)
    assert first == same and first != other
    assert all(len(s["unseen"]) == 3 and s["generator"]["seed"] == 0 for s in first)
    assert len({tuple(s["unseen"]) for s in first}) > 1  # three different draws


def test_cli_config_file_with_flag_overrides_and_dry_run(tmp_path):
    config = tmp_path / "sweep.yaml"
    config.write_text(yaml.safe_dump({
        "methods": ["cxr-ml-gzsl", "linear"], "text_encoders": "random", "seeds": [0, 1],
        "splits": ["synthetic-*"], "base": {"n_images": 200, "image_size": 32, "epochs": 3},
    }))
    res = invoke("--config", str(config), "--out", str(tmp_path / "out"), "--epochs", "1", "--seeds", "5",
                 "--dry-run", "--json")
    assert res.exit_code == 0, res.output
    runs = json.loads(res.stdout)["runs"]
    assert [(r["config"]["method"], r["config"]["seed"]) for r in runs] == [("cxr-ml-gzsl", 5), ("linear", 5)]
    assert {(r["config"]["epochs"], r["config"]["n_images"], r["config"]["split"]) for r in runs} == {
        (1, 200, "synthetic-paper")}
    assert {r["state"] for r in runs} == {"fresh"} and not (tmp_path / "out").exists()
    config.write_text("methods: [linear]\nmodels: [x]\n")
    res = invoke("--config", str(config), "--dry-run")
    assert res.exit_code == 2 and "unknown keys models" in res.stderr and "Traceback" not in res.output


def test_interrupted_sweep_refuses_without_skip_existing_then_resumes(tmp_path):
    out = tmp_path / "sweep"
    plan = plan_sweep(tiny_grid(base={**tiny_grid().base, "epochs": 2}), out)
    assert json.loads((out / "sweep.json").read_text())["runs"][1]["key"] == plan.runs[1].key
    first, second = (plan.run_path(r) for r in plan.runs)

    def interrupt_second_run_in_epoch_two(event: SweepEvent) -> None:
        step = event.progress
        if event.key == plan.runs[1].key and step is not None and step.stage == "train" and step.done > step.total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(plan, callback=interrupt_second_run_in_epoch_two)
    assert (first / "result.json").is_file()
    assert (second / "last.pt").is_file() and not (second / "result.json").exists()
    first_written = result_mtime(first)

    again = ["--out", str(out), "--methods", "cxr-ml-gzsl,linear", "--epochs", "2", *TINY_FLAGS, "--quiet"]
    res = invoke(*again)
    assert res.exit_code == 2 and "--skip-existing" in res.stderr and len(res.stderr.splitlines()) == 1

    res = invoke("--resume", str(out), "--quiet", "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert [(r["status"], r["resumed_from_epoch"]) for r in summary["runs"]] == [("skipped", None), ("completed", 1)]
    assert result_mtime(first) == first_written
    assert json.loads((second / "result.json").read_text())["training"]["resumed_from_epoch"] == 1

    second_written = result_mtime(second)
    res = invoke(*again, "--skip-existing", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["skipped"] == 2
    assert (result_mtime(first), result_mtime(second)) == (first_written, second_written)
    assert load_plan(out).runs == plan.runs


def test_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    out = tmp_path / "sweep"
    # a precomputed-embeddings file is read when the run embeds its classes, inside zsbench.runner.run
    # (options and names are checked before any run; a missing file is found only by its run)
    monkeypatch.chdir(tmp_path)  # a short relative name keeps the run key on one line of stderr
    res = invoke("--out", str(out), "--methods", "linear", "--epochs", "1", *TINY_FLAGS,
                 "--text-encoders", "precomputed:missing.npy", "--json")
    assert res.exit_code == 1, res.output
    runs = json.loads(res.stdout)["runs"]
    assert sorted(r["status"] for r in runs) == ["completed", "failed"]
    (failed,) = [r for r in runs if r["status"] == "failed"]
    (completed,) = [r for r in runs if r["status"] == "completed"]
    assert "missing.npy does not exist" in failed["error"]
    assert completed["status"] == "completed" and completed["metrics"]["auroc_harmonic"] is not None
    error = (Path(failed["run_dir"]) / "error.txt").read_text()
    assert error.splitlines()[0] == failed["error"] and "Traceback" in error
    assert not (Path(failed["run_dir"]) / "result.json").exists()
    assert f"failed: {failed['key']}" in res.stderr


@pytest.mark.parametrize("recorded", [{}, {"world_version": 1}])
def test_runs_of_an_older_synthetic_world_are_not_kept(tmp_path, recorded):
    from zsbench.data.synthetic.world import GENERATOR, WORLD_VERSION

    out = tmp_path / "sweep"
    plan = plan_sweep(tiny_grid(), out)
    first, second = (plan.run_path(r) for r in plan.runs)
    for path in (first, second):
        path.mkdir(parents=True, exist_ok=True)
    # the first run is complete and current, the second complete on an older world
    current = {"dataset": {"generator": GENERATOR, "world_version": WORLD_VERSION}, "metrics": {}}
    (first / "result.json").write_text(json.dumps(current))
    (second / "result.json").write_text(json.dumps({"dataset": {"generator": GENERATOR, **recorded}}))
    for args in (["--resume", str(out)], ["--out", str(out), "--methods", "cxr-ml-gzsl,linear", *TINY_FLAGS,
                                          "--epochs", "1", "--skip-existing"]):
        res = invoke(*args)  # not quiet: the progress display must not add a blank line
        assert res.exit_code == 2, res.output
        assert len(res.stderr.splitlines()) == 1
        assert "world version 1" in res.stderr and str(second) in res.stderr and str(first) not in res.stderr
    (second / "result.json").write_text(json.dumps(current))
    res = invoke("--resume", str(out), "--quiet", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["skipped"] == 2


def test_runs_that_embedded_older_synthetic_descriptions_are_not_kept(tmp_path):
    from zsbench.data.synthetic.lexicon import RECIPES
    from zsbench.data.synthetic.world import GENERATOR, WORLD_VERSION, SyntheticWorld

    out = tmp_path / "sweep"
    plan = plan_sweep(tiny_grid(), out)
    first, second = (plan.run_path(r) for r in plan.runs)
    names = [r.name for r in RECIPES]

    def result(texts, mode="description"):
        return json.dumps({"dataset": {"generator": GENERATOR, "world_version": WORLD_VERSION}, "metrics": {},
                           "config": {"class_text": mode}, "classes": {"all": names, "texts": texts}})

    for path in (first, second):
        path.mkdir(parents=True, exist_ok=True)
    (first / "result.json").write_text(result(None))  # attributes / random vectors: no text, never stale
    older = [r.looks[0] for r in RECIPES]  # what world version 3 first described: the look alone
    (second / "result.json").write_text(result(older))
    res = invoke("--resume", str(out))
    assert res.exit_code == 2 and len(res.stderr.splitlines()) == 1
    assert "1 completed run(s)" in res.stderr and str(second) in res.stderr and "descriptions" in res.stderr
    (second / "result.json").write_text(result([r.descriptions for r in RECIPES], "ensemble"))
    res = invoke("--resume", str(out), "--quiet", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["skipped"] == 2
    display_names = [c.display_name for c in SyntheticWorld(n_images=60).classes()]  # "Pleural Thickening"
    (second / "result.json").write_text(result(display_names, "name"))
    assert invoke("--resume", str(out), "--quiet", "--json").exit_code == 0


def test_process_pool_runs_two_workers_with_one_thread_each(tmp_path):
    plan = plan_sweep(tiny_grid(), tmp_path / "sweep")
    events: list[SweepEvent] = []
    summary = run_sweep(plan, PoolExecutor(workers=2, threads=1), callback=events.append)
    assert [r.status for r in summary.runs] == ["completed", "completed"], [r.error for r in summary.runs]
    for run in plan.runs:
        result = json.loads((plan.run_path(run) / "result.json").read_text())
        assert result["environment"]["threads"] == 1
        assert result["config"] == run.config.to_dict()
    kinds = {(e.kind, e.key) for e in events}
    assert all(("started", r.key) in kinds and ("finished", r.key) in kinds for r in plan.runs)
    assert any(e.kind == "progress" and e.progress.stage == "epoch" for e in events)  # forwarded from the workers


def test_ray_executor_runs_each_run_as_a_task(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'zsbench[ray]')")
    from zsbench.sweep.ray_executor import RayExecutor

    plan = plan_sweep(tiny_grid(), tmp_path / "sweep")
    events: list[SweepEvent] = []
    summary = run_sweep(plan, RayExecutor(num_cpus=2), callback=events.append)
    assert [r.status for r in summary.runs] == ["completed", "completed"], [r.error for r in summary.runs]
    for run in plan.runs:
        result = json.loads((plan.run_path(run) / "result.json").read_text())
        assert result["environment"]["threads"] == 1 and result["config"]["method"] == run.config.method
    assert {e.key for e in events if e.kind == "started"} == {r.key for r in plan.runs}


def test_ray_missing_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    executor = make_executor("ray")
    plan = build_plan(tiny_grid(methods=["linear"]), tmp_path, write_splits=False)
    from zsbench.sweep.task import RunTask

    task = RunTask(plan.runs[0].key, str(plan.run_path(plan.runs[0])), plan.runs[0].config.to_dict())
    with pytest.raises(UsageError, match=r"pip install 'zsbench\[ray\]'"):
        list(executor.run([task], lambda event: None))
    with pytest.raises(UsageError, match="--address"):
        make_executor("local", address="ray://x:10001")


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_zero_workers_is_a_usage_error(tmp_path, executor):
    res = invoke("--out", str(tmp_path / "sweep"), "--methods", "linear", *TINY_FLAGS, "--epochs", "1",
                 "--executor", executor, "--workers", "0")
    assert res.exit_code == 2 and "--workers must be at least 1" in res.stderr, res.output
    assert not list((tmp_path / "sweep").glob("runs/*/result.json"))


def test_random_splits_option_validation(tmp_path):
    assert RandomSplits.from_dict({"count": 2}) == RandomSplits(count=2, n_unseen=4, seed=0)
    res = invoke("--out", str(tmp_path), "--n-unseen", "3", "--dry-run")
    assert res.exit_code == 2 and "--random" in res.stderr
    res = invoke("--out", str(tmp_path), "--splits", "synthetic-paper", "--random", "2", "--dry-run")
    assert res.exit_code == 2 and "not both" in res.stderr


def test_dry_run_of_random_splits_plans_every_run_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    res = invoke("--out", str(out), "--methods", "linear", "--text-encoders", "random", "--random", "3",
                 "--min-coverage", "1", "--n-images", "200", "--dry-run", "--json")
    assert res.exit_code == 0, res.output
    runs = json.loads(res.stdout)["runs"]
    assert len(runs) == 3 and {r["state"] for r in runs} == {"fresh"}
    assert all("-c100-" in r["config"]["split"] for r in runs)
    assert not out.exists()  # the splits were drawn in memory only

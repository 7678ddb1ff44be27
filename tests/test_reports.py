"""Reports: the synthetic world's written reports, strip_findings, the csv report column, OpenI text."""

from __future__ import annotations

import json
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.imaging import write_png
from zsbench.cli.main import cli
from zsbench.data.base import DatasetSource
from zsbench.data.csv_source import CsvDataset
from zsbench.data.synthetic import render
from zsbench.data.synthetic.lexicon import RECIPES_BY_NAME
from zsbench.data.synthetic.reports import PATTERN_WORDS, Report, strip_findings, write_report
from zsbench.data.synthetic.world import SyntheticWorld
from zsbench.errors import UsageError

N = 300  # images whose reports are checked; a report costs well under a millisecond


@pytest.fixture(scope="module")
def world() -> SyntheticWorld:
    return SyntheticWorld(n_images=N, image_size=32, seed=7)


@pytest.fixture(scope="module")
def reports(world) -> list[Report]:
    return world.structured_reports(world.table().ids)


def test_reports_are_a_pure_function_of_seed_and_index(world, reports):
    ids = world.table().ids
    again = SyntheticWorld(n_images=N + 50, image_size=64, seed=7)  # size and image side do not matter
    picked = [ids[9], ids[2], ids[200]]
    assert again.reports(picked) == [reports[9].text, reports[2].text, reports[200].text]
    assert world.reports(ids[:5]) == [r.text for r in reports[:5]]
    other = SyntheticWorld(n_images=N, image_size=32, seed=8)
    assert other.reports(other.table().ids[:20]) != [r.text for r in reports[:20]]


def test_every_present_finding_is_described_in_its_pattern_words(world, reports):
    for index, report in enumerate(reports):
        findings = world.findings(index)
        assert report.described() == set(findings), report.text
        for name in findings:
            sentences = [s.text.lower() for s in report.sentences if s.finding == name and not s.negated]
            for lesion in RECIPES_BY_NAME[name].lesions:
                word = PATTERN_WORDS[lesion.pattern]
                assert any(word in s for s in sentences), (name, word, report.text)


def test_negated_findings_are_absent_and_never_contradict_a_present_pattern(world, reports):
    negated_any = 0
    for index, report in enumerate(reports):
        present = set(world.findings(index))
        negated = report.negated()
        assert not negated & present, report.text
        shown = {lesion.pattern for name in present for lesion in RECIPES_BY_NAME[name].lesions}
        for name in negated:
            assert not shown & {lesion.pattern for lesion in RECIPES_BY_NAME[name].lesions}, report.text
        negated_any += bool(negated)
    assert negated_any > N // 3  # negations are common, as in real reports


def test_normal_images_get_a_normal_report(world, reports):
    normal = [r for n, r in enumerate(reports) if not world.findings(n)]
    assert len(normal) > 10
    for report in normal:
        text = report.text.lower()
        assert "clear" in text and "normal" in text, report.text
        assert not report.described()
        assert "Cardiomegaly" in report.negated()  # "the cardiac silhouette is normal"


def test_reports_name_the_side_the_renderer_drew(monkeypatch):
    drawn: list[tuple[int, ...]] = []
    real = render.draw_placement

    def recording(*args, **kwargs):
        placement = real(*args, **kwargs)
        drawn.append(placement.sides)
        return placement

    monkeypatch.setattr(render, "draw_placement", recording)
    for stats in ("flat", "nih"):
        world = SyntheticWorld(n_images=60, image_size=32, seed=3, stats=stats)
        for index in range(0, 60, 7):
            drawn.clear()
            world.render(index)
            assert tuple(world.finding_sides(index).values()) == drawn[-1]
    world = SyntheticWorld(n_images=N, image_size=32, seed=7)
    checked = 0
    for index in range(N):
        if world.findings(index) in (["Effusion"], ["Nodule"], ["Atelectasis"]):
            (side,) = world.finding_sides(index).values()
            sentence = world.structured_reports([world.table().ids[index]])[0].sentences
            text = " ".join(s.text for s in sentence if s.finding and not s.negated)
            assert ("right" if side == 0 else "left") in text, text
            checked += 1
    assert checked > 5
    assert "one lung" in write_report(0, 1, ["Mass"]).text or "one lung" in write_report(0, 2, ["Mass"]).text


def test_paraphrases_vary_between_images_of_one_class():
    texts = {
        next(s.text for s in write_report(0, index, ["Effusion"], {"Effusion": 0}).sentences
             if s.finding == "Effusion")
        for index in range(40)
    }
    assert len(texts) >= 8, texts
    # and a small share names the class, most reports only describe it
    named = sum("effusion" in write_report(0, index, ["Effusion"]).text.lower() for index in range(200))
    assert 5 < named < 100


def test_strip_findings_removes_exactly_that_findings_sentences(world, reports):
    index = next(n for n, r in enumerate(reports) if len(world.findings(n)) >= 2 and r.negated())
    report = reports[index]
    gone = {world.findings(index)[0], *report.negated()}
    kept = [s.text for s in report.sentences if s.finding not in gone]
    stripped = strip_findings(report, gone)
    assert stripped == " ".join(kept)
    for s in report.sentences:
        if s.finding in gone:
            assert s.text not in stripped
    assert strip_findings(report, set()) == report.text
    for every in reports:  # nothing about a stripped finding is left, in its name or its look
        text = strip_findings(every, {"Effusion", "Pneumothorax"}).lower()
        assert "effusion" not in text and "pneumothorax" not in text
        if "Edema" not in every.described():  # Edema's look shares Effusion's fluid level
            assert "fluid level" not in text
    with pytest.raises(UsageError, match=r"unknown finding 'Efusion'.*Effusion"):
        strip_findings(report, {"Efusion"})


def test_datasets_without_reports_say_none(tmp_path):
    class Bare(DatasetSource):
        name = "bare"

        def classes(self):
            return []

        def table(self):
            raise AssertionError

        def load_images(self, ids, progress=None):
            raise AssertionError

    assert Bare().reports(["a"]) is None
    path = tmp_path / "data.csv"
    path.write_text("path,labels\na.png,Mass\n")
    assert CsvDataset(path).reports(["a.png"]) is None


def test_csv_report_column(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text('path,labels,text\na.png,Mass,"Round opacity, right lung."\nb.png,,\nc.png,,NaN\n')
    ds = CsvDataset(path, report_column="text")
    assert ds.reports(["c.png", "a.png", "b.png"]) == ["", "Round opacity, right lung.", ""]
    with pytest.raises(UsageError) as err:
        CsvDataset(path, report_column="findings").reports(["a.png"])
    message = str(err.value)
    assert "\n" not in message and "'findings'" in message and "path, labels, text" in message


def _openi_rows(count: int) -> list[dict[str, str]]:
    """The first ``count`` OpenI reports with findings text, from torchxrayvision's package data."""
    archive = Path(pytest.importorskip("torchxrayvision").__file__).parent / "data" / "NLMCXR_reports.tgz"
    if not archive.is_file():
        pytest.skip("torchxrayvision does not ship NLMCXR_reports.tgz")
    rows = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if not member.name.endswith(".xml"):
                continue
            root = ET.parse(tar.extractfile(member)).getroot()
            sections = {n.get("Label"): (n.text or "").strip() for n in root.iter("AbstractText")}
            images = [n.get("id") for n in root.iter("parentImage")]
            if sections.get("FINDINGS") and images:
                text = f"{sections['FINDINGS']} {sections.get('IMPRESSION', '')}".strip()
                rows.append({"path": f"{images[0]}.png", "report": text})
            if len(rows) == count:
                return rows
    return rows


def test_openi_reports_through_the_csv_dataset(tmp_path):
    import pandas as pd

    rows = _openi_rows(4)
    assert len(rows) == 4
    rng = np.random.default_rng(0)
    for row in rows:
        write_png(tmp_path / row["path"], rng.integers(0, 256, (20, 20), dtype=np.uint8))
        row["labels"] = "No Finding"
    rows.append({"path": "blank.png", "report": "", "labels": "No Finding"})
    write_png(tmp_path / "blank.png", np.zeros((20, 20), dtype=np.uint8))
    pd.DataFrame(rows).to_csv(tmp_path / "openi.csv", index=False)
    ds = CsvDataset(tmp_path / "openi.csv", root=tmp_path, image_size=16, report_column="report")
    ids = list(ds.table().ids)
    assert ds.reports(ids) == [row["report"] for row in rows]
    assert ds.reports(ids[::-1]) == [row["report"] for row in rows][::-1]  # in the order asked
    assert all(len(text) > 20 for text in ds.reports(ids[:4]))  # real text, commas and quotes intact
    assert ds.load_images(ds.table().ids[:2]).shape == (2, 1, 16, 16)


def test_cli_prints_ids_findings_and_reports(tmp_path):
    res = CliRunner().invoke(cli, ["data", "reports", "--dataset", "synthetic", "--n-images", "60", "--n", "3",
                                   "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    world = SyntheticWorld(n_images=60, image_size=32, seed=0)
    assert [r["id"] for r in rows] == list(world.table().ids[:3])
    assert [r["report"] for r in rows] == world.reports(world.table().ids[:3])
    assert [r["findings"] for r in rows] == [world.findings(n) for n in range(3)]
    text = CliRunner().invoke(cli, ["data", "reports", "--dataset", "synthetic", "--n-images", "60", "--n", "2"])
    assert text.exit_code == 0 and rows[0]["id"] in text.stdout and rows[1]["report"] in text.stdout
    path = tmp_path / "data.csv"
    path.write_text("path,labels\na.png,Mass\n")
    bad = CliRunner().invoke(cli, ["data", "reports", "--dataset", "csv", "--metadata", str(path)],
                             prog_name="zsbench")
    assert bad.exit_code == 2 and "report_column=NAME" in bad.stderr and len(bad.stderr.splitlines()) == 1

"""The embedded synthetic chest X-ray world: a benchmark that runs anywhere with no download."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from zsbench.data.base import PARTS, ClassInfo, DatasetSource, ImageTable
from zsbench.data.synthetic.lexicon import RECIPES, attribute_vector
from zsbench.data.synthetic.nih_stats import box_centres, finding_sets
from zsbench.data.synthetic.render import Anatomy, draw_placement, render_image
from zsbench.data.synthetic.reports import Report, write_report
from zsbench.errors import UsageError
from zsbench.options import OptionSet
from zsbench.progress import CountFn

# How many findings a diseased-or-not image carries (0 = "No Finding").
FINDING_COUNT_PROBS = (0.12, 0.48, 0.26, 0.10, 0.04)
PART_FRACTIONS = (0.7, 0.1, 0.2)
#: Bumped whenever the recipes or the drawing change the images or labels a seed gives. It is part
#: of ``describe()``, so results record which world they were measured on and feature caches of an
#: older world are never reused. 2: a one-sided finding's lesions share one side, and a
#: pneumothorax hyperinflates its lung. 3: classes are built from shared primitives, each drawn the
#: same way by every class that shows it, and described by fixed phrases (lexicon.py); bands, small
#: round lesions and patches are drawn larger, so that 64 px shows them.
WORLD_VERSION = 3
#: Its label table is built in memory when first asked for (about 70 us and 6 kB an image), so the
#: size is capped where that stays under half a minute and a few GB.
MIN_IMAGES, MAX_IMAGES = 50, 300_000
GENERATOR = "zsbench.data.synthetic"  # describe()["generator"]: which results carry a world_version


class SyntheticWorld(DatasetSource):
    """Synthetic frontal chest X-rays of the 14 NIH ChestX-ray14 classes.

    Patients have their own anatomy (lung size, heart size and position, rib spacing, tissue
    density) and 1 to 4 images each. Every image carries 0 to 4 findings, drawn by their class
    weights; each finding is drawn from its recipe in :mod:`zsbench.data.synthetic.lexicon`.
    Images are a pure function of ``(seed, image index)``, so they are generated lazily, in any
    order, and identically on every machine. The image split is patient-disjoint 70/10/20.
    :meth:`reports` writes each image a radiology-style report from its findings
    (:mod:`zsbench.data.synthetic.reports`), also a pure function of ``(seed, image index)``.

    ``stats="flat"`` (the benchmark default) draws findings by their class weights, independently.
    ``stats="nih"`` draws each image's set of findings from the real NIH ChestX-ray14 label
    combinations (so class frequencies and co-occurrence are NIH's) and places lesions of the
    8 boxed classes at real NIH bounding-box centres.
    """

    real_images = False  # zsbench's own recipe (shift, no tta, grey) is the default here

    name = "synthetic"

    def __init__(self, n_images: int = 6000, image_size: int = 128, seed: int = 0, stats: str = "flat") -> None:
        if not MIN_IMAGES <= n_images <= MAX_IMAGES:
            raise UsageError(f"the synthetic world has {MIN_IMAGES:,} to {MAX_IMAGES:,} images (got --n-images "
                             f"{n_images:,}); NIH ChestX-ray14 has 112,120")
        if not 32 <= image_size <= 1024:
            raise UsageError(f"synthetic image size must be 32..1024 (got {image_size})")
        if stats not in ("flat", "nih"):
            raise UsageError(f"synthetic stats={stats!r}: choose flat or nih")
        self.n_images, self.image_size, self.seed, self.stats = n_images, image_size, seed, stats
        self._table: ImageTable | None = None
        self._anatomy: list[Anatomy] = []
        self._findings: list[list[str]] = []

    def classes(self) -> list[ClassInfo]:
        return list(world_classes())

    def table(self) -> ImageTable:
        if self._table is None:
            self._table = self._generate_table()
        return self._table

    def _generate_table(self) -> ImageTable:
        rng = np.random.default_rng([self.seed, 0xC0FFEE])
        names = [r.name for r in RECIPES]
        weights = np.array([r.weight for r in RECIPES])
        weights = weights / weights.sum()
        ids, patients, rows = [], [], []
        nih_sets = finding_sets() if self.stats == "nih" else ()
        patient = 0
        while len(ids) < self.n_images:
            anatomy = Anatomy.sample(rng)
            for k in range(int(rng.integers(1, 5))):
                if len(ids) == self.n_images:
                    break
                if self.stats == "nih":
                    real = nih_sets[int(rng.integers(len(nih_sets)))]
                    findings = sorted(names.index(n) for n in real)
                else:
                    count = int(rng.choice(len(FINDING_COUNT_PROBS), p=FINDING_COUNT_PROBS))
                    findings = sorted(rng.choice(len(names), size=count, replace=False, p=weights))
                ids.append(f"syn{self.seed}_p{patient:06d}_{k}")
                patients.append(f"p{patient:06d}")
                row = np.zeros(len(names), dtype=np.float32)
                row[findings] = 1.0
                rows.append(row)
                self._anatomy.append(anatomy)
                self._findings.append([names[i] for i in findings])
            patient += 1
        unique = np.unique(patients)
        order = np.random.default_rng([self.seed, 0x5EED]).permutation(len(unique))
        cut1 = round(PART_FRACTIONS[0] * len(unique))
        cut2 = round((PART_FRACTIONS[0] + PART_FRACTIONS[1]) * len(unique))
        part_of = {}
        for rank, idx in enumerate(order):
            part_of[unique[idx]] = PARTS[0] if rank < cut1 else PARTS[1] if rank < cut2 else PARTS[2]
        return ImageTable(
            ids=np.array(ids),
            patients=np.array(patients),
            labels=np.stack(rows),
            part=np.array([part_of[p] for p in patients]),
            class_names=names,
        )

    def _index(self, image_id: str) -> int:
        lookup = getattr(self, "_lookup", None)
        if lookup is None:
            lookup = {str(i): n for n, i in enumerate(self.table().ids)}
            self._lookup = lookup
        try:
            return lookup[image_id]
        except KeyError:
            raise UsageError(f"image id {image_id!r} is not in this synthetic world") from None

    def _image_draws(self, index: int) -> tuple[np.random.Generator, dict[str, tuple[float, float]] | None]:
        """Image ``index``'s generator after its lesion anchors (``stats=nih``) are drawn from it:
        rendering and :meth:`finding_sides` both start here, so they see the same draws."""
        self.table()
        rng = np.random.default_rng([self.seed, index, 0xB1A5])
        anchors = None
        if self.stats == "nih":
            centres = box_centres()
            anchors = {
                name: tuple(centres[name][int(rng.integers(len(centres[name])))])
                for name in self._findings[index] if name in centres
            }
        return rng, anchors

    def render(self, index: int) -> np.ndarray:
        """Image ``index`` as uint8 (H, W)."""
        rng, anchors = self._image_draws(index)
        return render_image(self._anatomy[index], self._findings[index], self.image_size, rng, anchors)

    def findings(self, index: int) -> list[str]:
        """Class names of image ``index``'s findings (empty for a normal image)."""
        self.table()
        return list(self._findings[index])

    def finding_sides(self, index: int) -> dict[str, int]:
        """The side each finding of image ``index`` is drawn on (0 = image-left, 1 = image-right),
        replayed from the image's generator without rendering it."""
        rng, anchors = self._image_draws(index)
        findings = self._findings[index]
        return dict(zip(findings, draw_placement(findings, rng, anchors).sides, strict=True))

    def structured_reports(self, ids: Sequence[str] | np.ndarray) -> list[Report]:
        """Each image's report as (finding, sentence) pairs, e.g. for :func:`strip_findings`."""
        out = []
        for image_id in ids:
            index = self._index(str(image_id))
            out.append(write_report(self.seed, index, self._findings[index], self.finding_sides(index)))
        return out

    def reports(self, ids: Sequence[str] | np.ndarray) -> list[str]:
        """A radiology-style report per image, written from its findings (see
        :mod:`zsbench.data.synthetic.reports`); a pure function of ``(seed, image index)``."""
        return [report.text for report in self.structured_reports(ids)]

    def load_images(self, ids: np.ndarray, progress: CountFn | None = None) -> np.ndarray:
        out = np.empty((len(ids), 1, self.image_size, self.image_size), dtype=np.uint8)
        for n, image_id in enumerate(ids):
            out[n, 0] = self.render(self._index(str(image_id)))
            if progress is not None and (n % 64 == 63 or n == len(ids) - 1):
                progress(n + 1, len(ids))
        return out

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "n_images": self.n_images,
            "image_size": self.image_size,
            "seed": self.seed,
            "stats": self.stats,
            "generator": GENERATOR,
            "world_version": WORLD_VERSION,
        }


@cache
def world_classes() -> tuple[ClassInfo, ...]:
    """The 14 classes as text encoders see them (the same for every world size and seed): for code
    that reads results, without building a world."""
    return tuple(ClassInfo(r.name, r.descriptions, tuple(attribute_vector(r.name))) for r in RECIPES)


class SyntheticOptions(OptionSet):
    """``--dataset-option`` keys of the synthetic world."""

    stats: str = "flat"  # flat | nih (real NIH label combinations and box centres)


def create_synthetic(
    *, n_images: int | None = None, image_size: int | None = None, seed: int = 0, stats: str = "flat",
    **_: object,
) -> SyntheticWorld:
    return SyntheticWorld(n_images=n_images or 6000, image_size=image_size or 128, seed=seed, stats=stats)

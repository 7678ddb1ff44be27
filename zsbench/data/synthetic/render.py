"""Draws synthetic frontal chest X-rays: anatomy per patient, lesions per finding.

Coordinates are normalised to [0, 1] (x to the image's right, y down), so any image size works.
Brightness follows radiographic convention: dense tissue is bright, air is dark.
Everything random comes from the ``numpy.random.Generator`` handed in, so an image is a pure
function of its seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from zsbench.data.synthetic.lexicon import RECIPES_BY_NAME, Lesion


@dataclass(frozen=True)
class Anatomy:
    """Per-patient geometry; each image of the patient jitters it slightly."""

    lung_dx: float  # half distance between the lung centres
    lung_cy: float
    lung_a: float  # lung semi-axes
    lung_b: float
    heart_cx: float
    heart_cy: float
    heart_a: float
    heart_b: float
    rib_spacing: float
    rib_phase: float
    tissue: float  # soft-tissue brightness
    lung_level: float  # aerated lung brightness

    @staticmethod
    def sample(rng: np.random.Generator) -> Anatomy:
        return Anatomy(
            lung_dx=rng.uniform(0.17, 0.21),
            lung_cy=rng.uniform(0.43, 0.48),
            lung_a=rng.uniform(0.13, 0.16),
            lung_b=rng.uniform(0.27, 0.31),
            heart_cx=rng.uniform(0.53, 0.56),
            heart_cy=rng.uniform(0.62, 0.66),
            heart_a=rng.uniform(0.11, 0.13),
            heart_b=rng.uniform(0.09, 0.11),
            rib_spacing=rng.uniform(0.075, 0.095),
            rib_phase=rng.uniform(0.0, 1.0),
            tissue=rng.uniform(0.42, 0.52),
            lung_level=rng.uniform(0.14, 0.22),
        )


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    return yy, xx


def _ellipse(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, b: float, a: float) -> np.ndarray:
    """Squared normalised radius: < 1 inside the ellipse."""
    return ((yy - cy) / b) ** 2 + ((xx - cx) / a) ** 2


def _soft(r2: np.ndarray, edge: float = 0.15) -> np.ndarray:
    """1 inside, 0 outside, a smooth rim of relative width ``edge``."""
    return np.clip((1.0 - r2) / edge, 0.0, 1.0)


@dataclass(frozen=True)
class Placement:
    """The first random draws of an image, made before any pixel: its small shift and the side of
    each finding (0 = image-left, 1 = image-right; one-sided lesions of the finding go there)."""

    shift: tuple[float, float]  # (y, x), normalised
    sides: tuple[int, ...]  # one per finding, in the order of the findings


def draw_placement(
    findings: list[str], rng: np.random.Generator, anchors: dict[str, tuple[float, float]] | None = None
) -> Placement:
    """Draws an image's :class:`Placement` from ``rng``, the same draws :func:`render_image` makes
    first, so a caller that replays the image's generator learns which lung each finding was drawn
    in (reports name it) without rendering."""
    jitter = rng.normal(0.0, 0.008, size=2)
    # One side per finding, so a one-sided finding's lesions (Pneumonia's patches and haze, a
    # pneumothorax and the lung it hyperinflates) all land in the same lung.
    sides = [int(side) for side in rng.integers(0, 2, size=len(findings))]
    if anchors:  # a measured position decides the side: image-left of the midline is side 0
        sides = [
            int(anchors[name][1] >= 0.5) if name in anchors else side
            for name, side in zip(findings, sides, strict=True)
        ]
    return Placement((float(jitter[0]), float(jitter[1])), tuple(sides))


class _Canvas:
    def __init__(self, size: int, anatomy: Anatomy, rng: np.random.Generator, shift: tuple[float, float]) -> None:
        self.size = size
        self.rng = rng
        self.yy, self.xx = _grid(size)
        self.shift_y, self.shift_x = shift
        self.a = anatomy
        self.heart_scale = (1.0, 1.0)
        self.lung_stretch = [1.0, 1.0]  # per side (image-left, image-right); hyperinflation > 1
        self.anchor: tuple[float, float] | None = None  # a measured lesion position, when given

    def lung_centre(self, side: int) -> tuple[float, float]:
        """Centre of the lung on image-left (side 0) or image-right (side 1)."""
        cx = 0.5 + (self.a.lung_dx if side else -self.a.lung_dx) + self.shift_x
        return self.a.lung_cy + self.shift_y + 0.2 * (self.lung_stretch[side] - 1.0), cx

    def lung_height(self, side: int) -> float:
        """The lung's vertical semi-axis; a hyperinflated lung is longer."""
        return self.a.lung_b * self.lung_stretch[side]

    def lung_mask(self, side: int) -> np.ndarray:
        cy, cx = self.lung_centre(side)
        return _soft(_ellipse(self.yy, self.xx, cy, cx, self.lung_height(side), self.a.lung_a))

    def point_in_lung(self, side: int, zone: str, radial: str) -> tuple[float, float]:
        """A random point inside one lung, restricted by zone (upper/lower) and radial position;
        near :attr:`anchor` instead when a measured position was handed in."""
        if self.anchor is not None:
            return self.anchor[0] + self.rng.normal(0, 0.01), self.anchor[1] + self.rng.normal(0, 0.01)
        cy, cx = self.lung_centre(side)
        b, a = self.lung_height(side), self.a.lung_a
        lo, hi = {"upper": (-0.75, -0.25), "lower": (0.2, 0.65)}.get(zone, (-0.6, 0.55))
        dy = self.rng.uniform(lo, hi)
        half_width = np.sqrt(max(1.0 - dy * dy, 0.05)) * 0.85
        outward = 1.0 if side else -1.0  # lateral is away from the midline
        if radial == "peripheral":
            dx = outward * self.rng.uniform(0.55, 0.85) * half_width
        elif radial == "central":
            dx = -outward * self.rng.uniform(0.2, 0.6) * half_width
        else:
            dx = self.rng.uniform(-0.7, 0.7) * half_width
        return cy + dy * b, cx + dx * a


def _lesion_sides(lesion: Lesion, finding_side: int) -> list[int]:
    return [0, 1] if lesion.side == "both" else [finding_side]


def _draw_lesion(c: _Canvas, lesion: Lesion, finding_side: int, img: np.ndarray, lungs: np.ndarray) -> np.ndarray:
    rng, yy, xx = c.rng, c.yy, c.xx
    dense = lesion.density == "dense"
    for side in _lesion_sides(lesion, finding_side):
        lung = c.lung_mask(side)
        if lesion.pattern == "round":
            if lesion.radial == "central":  # behind the heart, at the base
                cy = c.a.heart_cy + c.shift_y + rng.uniform(0.0, 0.04)
                cx = 0.5 + c.shift_x + rng.uniform(-0.03, 0.03)
            else:
                cy, cx = c.point_in_lung(side, lesion.zone, lesion.radial)
            r = rng.uniform(0.07, 0.095) if lesion.size == "large" else rng.uniform(0.032, 0.042)
            img += (0.32 if dense else 0.18) * _soft(_ellipse(yy, xx, cy, cx, r, r * rng.uniform(0.85, 1.15)), 0.4)
        elif lesion.pattern == "patchy":
            cy, cx = c.point_in_lung(side, lesion.zone, lesion.radial)
            spread = 0.07 if lesion.size == "large" else 0.05
            for _ in range(int(rng.integers(7, 12))):
                by, bx = cy + rng.normal(0, spread * 0.6), cx + rng.normal(0, spread * 0.5)
                r = rng.uniform(0.022, 0.038)
                img += (0.24 if dense else 0.12) * _soft(_ellipse(yy, xx, by, bx, r, r), 0.6) * lung
        elif lesion.pattern == "hazy":
            cy, cx = c.point_in_lung(side, lesion.zone, lesion.radial)
            sigma = rng.uniform(0.08, 0.11)
            haze = np.exp(-_ellipse(yy, xx, cy, cx, sigma * 1.3, sigma))
            img += (0.2 if dense else 0.13) * haze * lung
        elif lesion.pattern == "band":
            cy, cx = c.point_in_lung(side, lesion.zone, lesion.radial)
            if lesion.radial == "peripheral":  # along the lateral chest wall
                lcy, lcx = c.lung_centre(side)
                r2 = _ellipse(yy, xx, lcy, lcx, c.lung_height(side), c.a.lung_a)
                rim = np.clip(1.0 - np.abs(r2 - 0.72) / 0.2, 0.0, 1.0)
                window = np.exp(-((yy - cy) ** 2) / (2 * 0.09**2))
                lateral = (xx > lcx) if side else (xx < lcx)
                img += 0.45 * rim * window * lateral * lung
            else:
                theta = rng.uniform(-0.35, 0.35)
                dy, dx = np.sin(theta), np.cos(theta)
                along = (yy - cy) * dy + (xx - cx) * dx
                across = (yy - cy) * dx - (xx - cx) * dy
                shape = _soft((along / 0.1) ** 2 + (across / 0.025) ** 2, 0.5)
                img += (0.36 if dense else 0.18) * shape * lung
        elif lesion.pattern == "fluid_level":
            lcy, _ = c.lung_centre(side)
            level = lcy + c.lung_height(side) * rng.uniform(0.2, 0.45)
            below = np.clip((yy - level) / 0.01, 0.0, 1.0)
            img += 0.4 * below * np.clip(lung * 1.5, 0, 1)
        elif lesion.pattern == "lucent":
            cy, cx = c.point_in_lung(side, lesion.zone, lesion.radial)
            dark = np.exp(-_ellipse(yy, xx, cy, cx, 0.12, 0.1)) * lung
            img = img * (1.0 - 0.9 * dark) + 0.02 * dark
        # enlarged_silhouette and hyperinflation change the anatomy; see render_image.
    return img


def render_image(
    anatomy: Anatomy,
    findings: list[str],
    size: int,
    rng: np.random.Generator,
    anchors: dict[str, tuple[float, float]] | None = None,
) -> np.ndarray:
    """One image as uint8 (size x size) showing the given class names.

    ``anchors`` maps a class name to a normalised (y, x) lesion position (e.g. drawn from real
    bounding boxes); that class's lesions are drawn there instead of at a recipe position.
    """
    placement = draw_placement(findings, rng, anchors)
    c = _Canvas(size, anatomy, rng, placement.shift)
    drawn = [
        (name, lesion, side)
        for name, side in zip(findings, placement.sides, strict=True)
        for lesion in RECIPES_BY_NAME[name].lesions
    ]
    for _, lesion, side in drawn:
        if lesion.pattern == "hyperinflation":
            for s in _lesion_sides(lesion, side):
                c.lung_stretch[s] = 1.12
    if any(lesion.pattern == "enlarged_silhouette" for _, lesion, _ in drawn):
        c.heart_scale = (rng.uniform(1.4, 1.6), rng.uniform(1.25, 1.4))
    yy, xx = c.yy, c.xx
    a = anatomy

    body = _soft(_ellipse(yy, xx, 0.55 + c.shift_y, 0.5 + c.shift_x, 0.62, 0.44), 0.08)
    img = 0.04 + (a.tissue - 0.04) * body
    lungs = np.maximum(c.lung_mask(0), c.lung_mask(1))
    # ribs: curved bright bands across the lung fields
    curve = 0.06 * ((xx - 0.5 - c.shift_x) / 0.25) ** 2
    ribs = 0.5 + 0.5 * np.cos(2 * np.pi * ((yy - curve) / a.rib_spacing + a.rib_phase))
    markings = 0.04 * rng.standard_normal(img.shape).astype(np.float32)
    lung_tone = a.lung_level + 0.07 * ribs**3 + markings * 0.5
    img = img * (1 - lungs) + lung_tone * lungs
    # heart and mediastinum over the lungs
    hs_a, hs_b = c.heart_scale
    heart = _soft(
        _ellipse(yy, xx, a.heart_cy + c.shift_y, a.heart_cx + c.shift_x, a.heart_b * hs_b, a.heart_a * hs_a),
        0.2,
    )
    mediastinum = _soft(_ellipse(yy, xx, 0.4 + c.shift_y, 0.5 + c.shift_x, 0.3, 0.05), 0.3)
    img = np.maximum(img, 0.68 * np.maximum(heart, mediastinum))
    # diaphragm: bright abdomen under two domes
    # each hemidiaphragm sits under its own lung: lower and flatter when that lung is hyperinflated
    bulge = 0.05 * sum(np.exp(-(((xx - c.lung_centre(side)[1]) / a.lung_a) ** 2)) for side in (0, 1))
    flatness = [0.3 if stretch > 1.0 else 1.0 for stretch in c.lung_stretch]
    half_domes = [a.lung_cy + c.shift_y + c.lung_height(side) * 0.92 - flatness[side] * bulge for side in (0, 1)]
    domes = np.where(xx < 0.5 + c.shift_x, half_domes[0], half_domes[1])
    abdomen = np.clip((yy - domes) / 0.015, 0.0, 1.0) * body
    img = np.maximum(img, 0.6 * abdomen)

    for owner, lesion, side in drawn:
        c.anchor = anchors.get(owner) if anchors else None
        img = _draw_lesion(c, lesion, side, img, lungs)

    img = img * rng.uniform(0.92, 1.08) + rng.normal(0.0, 0.02, size=img.shape)
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)

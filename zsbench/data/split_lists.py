"""Image split lists (one image file name per line), e.g. the CheXNet lists the paper used."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from zsbench.errors import DataError, UnknownNameError, UsageError
from zsbench.results import atomic_write_bytes

PART_FILES = {"train": "train_list.txt", "val": "val_list.txt", "test": "test_list.txt"}


@dataclass(frozen=True)
class RemoteSplitLists:
    name: str
    base_url: str
    sha256: dict[str, str]
    source: str


# The patient-disjoint 70/10/20 split published with the arnoweng/CheXNet reimplementation
# (MIT licence); CXR-ML-GZSL used it. Checksums pin the exact files.
KNOWN_LISTS: dict[str, RemoteSplitLists] = {
    "nih-chexnet": RemoteSplitLists(
        name="nih-chexnet",
        base_url="https://raw.githubusercontent.com/arnoweng/CheXNet/master/ChestX-ray14/labels/",
        sha256={
            "train_list.txt": "332d49fb9b7a380bd25c1a54de7544ab422bdc37142459e273298a8ea2ea5c03",
            "val_list.txt": "ef239d3493893aba431c39a9aa5c57e9bc3c04cdd3df505e0754dece04cb31da",
            "test_list.txt": "4333f58bed6d26bd974d825f6ee78a48ce7f81985803c145b3e13ae0c1d8f927",
        },
        source="github.com/arnoweng/CheXNet, ChestX-ray14/labels/",
    )
}


def cache_root() -> Path:
    return Path(os.environ.get("ZSBENCH_CACHE", Path.home() / ".cache" / "zsbench"))


def default_dir(name: str) -> Path:
    return cache_root() / "split-lists" / name


def parse_list(path: Path) -> list[str]:
    """Image names from a split list: the first token of each non-empty line must be an image file."""
    names = []
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise DataError(f"cannot read split list {path}: {exc.strerror}") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        token = line.split()[0]
        if not token.lower().endswith((".png", ".jpg", ".jpeg", ".dcm")) or "," in token:
            raise DataError(
                f"{path}:{lineno}: expected an image file name first on the line, got {token[:40]!r}"
            )
        names.append(Path(token).name)
    return names


def load_split_lists(directory: str | Path) -> dict[str, list[str]]:
    """{part: image names} from train_list.txt, val_list.txt and test_list.txt in ``directory``."""
    directory = Path(directory)
    missing = [f for f in PART_FILES.values() if not (directory / f).is_file()]
    if missing:
        raise UsageError(
            f"split-list folder {directory} lacks {', '.join(missing)}; "
            "run `zsbench data download-splits nih-chexnet` or point --split-lists at the right folder"
        )
    return {part: parse_list(directory / f) for part, f in PART_FILES.items()}


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_split_lists(name: str, dest: Path | None = None, base_url: str | None = None) -> Path:
    """Fetch a known set of split lists, verify each file's sha256, store them atomically."""
    if name not in KNOWN_LISTS:
        raise UnknownNameError("split-list set", name, KNOWN_LISTS)
    spec = KNOWN_LISTS[name]
    dest = dest or default_dir(name)
    base = base_url or spec.base_url
    for filename, expected in spec.sha256.items():
        url = base.rstrip("/") + "/" + filename
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DataError(f"cannot download {url}: {reason}; check the network or use --base-url") from None
        digest = sha256_of(data)
        if digest != expected:
            raise DataError(f"{url}: sha256 {digest[:12]}... does not match the expected {expected[:12]}...")
        atomic_write_bytes(dest / filename, data)
    return dest

"""Numbers reported by papers: read from a small YAML file, shown apart from measured results.

Schema (one mapping with a ``reported`` list; values are fractions in [0, 1])::

    reported:
      - source: "Hayat et al., MLHC 2021, Table 2"   # required: where the numbers are printed
        method: cxr-ml-gzsl                          # required
        dataset: nih                                 # required
        protocol: nih-paper                          # optional: class split or split family
        backbone: densenet121                        # optional
        text_encoder: biobert                        # optional
        note: "their own image split"                # optional
        metrics:                                     # required, at least one
          auroc_seen: 0.79
          auroc_unseen: 0.66
          auroc_harmonic: 0.72
          f1@3: 0.25                                 # p@k, r@k, f1@k for any k >= 1
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zsbench.errors import UsageError

HEADING = "Reported (not measured by zsbench)"
REQUIRED = ("source", "method", "dataset", "metrics")
OPTIONAL = ("protocol", "backbone", "text_encoder", "note")
METRIC_NAME = re.compile(r"^(auroc_seen|auroc_unseen|auroc_harmonic|map_seen|map_unseen|map_all|(p|r|f1)@[1-9]\d*)$")


@dataclass
class ReportedEntry:
    source: str
    method: str
    dataset: str
    metrics: dict[str, float]
    extra: dict[str, str] = field(default_factory=dict)  # the optional fields that were given

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "method": self.method, "dataset": self.dataset, **self.extra,
                "metrics": dict(self.metrics)}


def _entry(raw: Any, where: str) -> ReportedEntry:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: must be a mapping with {', '.join(REQUIRED)}")
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(REQUIRED + OPTIONAL)}")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise UsageError(f"{where}: {missing[0]!r} is required")
    for key in (*REQUIRED[:3], *OPTIONAL):
        if key in raw and not (isinstance(raw[key], str) and raw[key].strip()):
            raise UsageError(f"{where}: {key!r} must be a non-empty string")
    metrics = raw["metrics"]
    if not isinstance(metrics, dict) or not metrics:
        raise UsageError(f"{where}: 'metrics' must map metric names to values, e.g. auroc_unseen: 0.66")
    values: dict[str, float] = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or not METRIC_NAME.match(name):
            raise UsageError(f"{where}: unknown metric {name!r}; use auroc_seen, auroc_unseen, auroc_harmonic, "
                             "map_seen, map_unseen, map_all, p@k, r@k or f1@k")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise UsageError(f"{where}: {name} must be a number in [0, 1] (write 0.79, not 79%), got {value!r}")
        values[name] = float(value)
    return ReportedEntry(raw["source"], raw["method"], raw["dataset"], values,
                         {k: raw[k] for k in OPTIONAL if k in raw})


def load_reported(path: str | Path) -> list[ReportedEntry]:
    """Parse and validate a reported-numbers file; every error names the file and the entry."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise UsageError(f"--reported file {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{p}: cannot read it ({exc.__class__.__name__})") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise UsageError(f"{p}{'' if line is None else f' line {line + 1}'}: not valid YAML") from None
    if not isinstance(raw, dict) or set(raw) != {"reported"} or not isinstance(raw["reported"], list):
        raise UsageError(f"{p}: must be one mapping 'reported:' holding a list of entries")
    entries = []
    for i, item in enumerate(raw["reported"], start=1):
        named = isinstance(item, dict) and isinstance(item.get("method"), str)
        label = f" (method {item['method']!r})" if named else ""
        entries.append(_entry(item, f"{p}: entry {i}{label}"))
    if not entries:
        raise UsageError(f"{p}: 'reported:' is empty")
    return entries

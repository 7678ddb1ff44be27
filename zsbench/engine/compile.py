"""``--compile``: the model's backbone and head compiled with ``torch.compile``, or a clear reason
why the run goes on uncompiled.

``nn.Module.compile`` compiles in place, so parameter names, checkpoints and resume states stay
what they are uncompiled. Inductor needs a C++ compiler for CPU code and Triton for CUDA code;
where one is missing the run says so and trains eagerly. A graph that fails to compile later (an
operator the compiler does not support) also falls back to eager execution instead of stopping
the run (``torch._dynamo.config.suppress_errors``). Compiled kernels may round differently from
eager ones, so a compiled run is not bit-identical to an uncompiled one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import asdict, dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class CompileOutcome:
    used: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def missing_toolchain(device: torch.device) -> str | None:
    """Why inductor cannot compile for ``device`` here, or None when it can."""
    if device.type == "cuda":
        return None if importlib.util.find_spec("triton") else "Triton is not installed (pip install triton)"
    compiler = os.environ.get("CXX", "c++")
    return None if shutil.which(compiler) else f"no C++ compiler ({compiler}) on PATH; install g++ or set CXX"


def compile_model(model: Any, device: torch.device) -> CompileOutcome:
    """Compile ``model.backbone`` and ``model.method`` in place where the toolchain allows."""
    reason = missing_toolchain(device)
    if reason is not None:
        return CompileOutcome(False, f"--compile: cannot compile for {device.type}: {reason}; running uncompiled")
    import torch._dynamo

    # a graph that fails to compile runs eagerly instead of ending a long run
    torch._dynamo.config.suppress_errors = True
    model.backbone.compile()
    model.method.compile()
    return CompileOutcome(True, f"compiled with torch.compile (inductor, {device.type})")

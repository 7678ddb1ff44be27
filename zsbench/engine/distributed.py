"""One run on many processes: torchrun's environment, the process group, DDP and batch shards.

``torchrun --nproc-per-node N -m zsbench run ...`` starts N copies of the same run. Every rank
builds the same model from the same seed, draws the same epoch permutation and augmentation shifts
from the same generator, and trains on its own slice of every global batch of ``batch_size``
images; DistributedDataParallel averages the gradients, so a step sees the whole global batch as
one process would (BatchNorm statistics are the exception: each rank normalises its own slice).
Rank 0 alone validates (the score is broadcast, so the scheduler, best epoch and early stopping
agree everywhere), scores the test set and writes files; the others receive its result.

Without torchrun (``WORLD_SIZE`` unset or 1) nothing here touches ``torch.distributed`` and every
helper returns its input: a one-process run is exactly what it was before.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import numpy as np
import torch
import torch.distributed as tdist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from zsbench.backbones.base import prepare_batch
from zsbench.errors import UsageError

# rank 0 validates and scores the test set while the others wait in a collective: allow for it
TIMEOUT = timedelta(hours=1)

T = TypeVar("T")
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict[str, float]]]


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in the run: ``world_size`` 1 means no process group at all."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def comm_device(self) -> torch.device:
        """Where tensors for collectives live: the rank's GPU with NCCL, else the CPU."""
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")


SINGLE = DistContext()
_active: DistContext | None = None


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"environment variable {name}={value!r} is not an integer") from None


def launched() -> bool:
    """True when a launcher such as torchrun started this process as one of several."""
    return _env_int("WORLD_SIZE", 1) > 1


def backend_for(device: str) -> str:
    """NCCL when the run trains on CUDA GPUs (``auto`` with one visible, or ``cuda[:N]``), else gloo."""
    on_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    return "nccl" if on_cuda else "gloo"


def _from_group() -> DistContext:
    return DistContext(world_size=tdist.get_world_size(), rank=tdist.get_rank(),
                       local_rank=_env_int("LOCAL_RANK", 0), backend=str(tdist.get_backend()))


def current() -> DistContext:
    """The context of the run in progress: the process group's, or one process when there is none."""
    if _active is not None:
        return _active
    if tdist.is_available() and tdist.is_initialized():
        return _from_group()
    if launched():
        raise UsageError(
            "started as one of several processes (WORLD_SIZE > 1) but no process group is set up; "
            "call zsbench.runner.run inside zsbench.engine.distributed.session()"
        )
    return SINGLE


@contextmanager
def session(device: str = "auto") -> Iterator[DistContext]:
    """The process group of one run under torchrun, destroyed at the end, also on error.

    Without a multi-process environment this yields :data:`SINGLE` and does nothing else. With
    CUDA each rank is pinned to ``cuda:LOCAL_RANK``. A group that the caller already set up is
    used as it is and left alone.
    """
    global _active
    if tdist.is_available() and tdist.is_initialized():
        yield _from_group()
        return
    if not launched():
        yield SINGLE
        return
    if not tdist.is_available():
        raise UsageError("started as one of several processes, but this PyTorch build has no torch.distributed")
    rank, local_rank, world = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0), _env_int("WORLD_SIZE", 1)
    backend = backend_for(device)
    if backend == "nccl":
        count = torch.cuda.device_count()
        if local_rank >= count:
            raise UsageError(f"process with LOCAL_RANK {local_rank} has no GPU of its own ({count} visible); "
                             f"start at most {count} processes per node")
        torch.cuda.set_device(local_rank)
    bound = {"device_id": torch.device("cuda", local_rank)} if backend == "nccl" else {}
    try:
        tdist.init_process_group(backend, timeout=TIMEOUT, **bound)
    except (RuntimeError, ValueError) as exc:  # rendezvous failures are RuntimeErrors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise UsageError(f"cannot set up the {backend} process group (rank {rank} of {world}): {first}") from None
    _active = DistContext(world_size=world, rank=rank, local_rank=local_rank, backend=backend)
    try:
        yield _active
        tdist.barrier()  # no rank tears the group down while another still talks to it
    finally:
        _active = None
        gc.collect()  # DDP wrappers (reference cycles) hold the group: free them while it is alive
        tdist.destroy_process_group()


def pin_device(device: torch.device, ctx: DistContext) -> torch.device:
    """Each rank trains on its own GPU, ``cuda:LOCAL_RANK``, whatever index was asked for."""
    if not ctx.enabled:
        return device
    if ctx.backend == "nccl" and device.type != "cuda":
        raise UsageError(f"the process group uses NCCL but the run asked for --device {device}; use a CUDA device")
    if device.type == "cuda":
        return torch.device("cuda", ctx.local_rank)
    return device


def local_batch_size(batch_size: int, ctx: DistContext) -> int:
    """Images per rank in one global batch; the global batch must split evenly, 2+ images a rank."""
    if not ctx.enabled:
        return batch_size
    if batch_size % ctx.world_size or batch_size // ctx.world_size < 2:
        raise UsageError(
            f"--batch-size {batch_size} does not split into equal parts of at least 2 images over "
            f"{ctx.world_size} processes; use a multiple of {ctx.world_size} (at least {2 * ctx.world_size})"
        )
    return batch_size // ctx.world_size


def shard(indices: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """This rank's contiguous slice of one global batch (every rank holds the same ``indices``)."""
    if not ctx.enabled:
        return indices
    per = len(indices) // ctx.world_size
    return indices[ctx.rank * per : (ctx.rank + 1) * per]


class _Loss(nn.Module):
    """The training loss as a module's forward, which is what DDP hooks its gradient averaging to."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, embeddings: torch.Tensor,
                labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        return self.model.loss(x, embeddings, labels)


def unused_parameters(model: nn.Module, x: torch.Tensor, embeddings: torch.Tensor,
                      labels: torch.Tensor) -> list[str]:
    """Names of trainable parameters that the loss does not reach on a sample batch.

    Evaluated in eval mode (BatchNorm statistics untouched) with the random generators restored
    afterwards, so training is not changed by asking.
    """
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    modes = {module: module.training for module in model.modules()}
    devices = [x.device] if x.device.type == "cuda" else []
    model.eval()
    try:
        with torch.random.fork_rng(devices=devices):
            loss, _ = _Loss(model)(x, embeddings, labels)
            if not loss.requires_grad:
                return [name for name, _ in named]
            grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
    finally:
        for module, training in modes.items():
            module.training = training
    return [name for (name, _), grad in zip(named, grads, strict=True) if grad is None]


def loss_function(model: nn.Module, ctx: DistContext,
                  sample: tuple[np.ndarray, torch.Tensor, torch.Tensor]) -> LossFn:
    """``(x, embeddings, labels) -> (loss, parts)``: the method's loss, DDP-wrapped on several ranks.

    ``sample`` (pixels, embeddings, labels of a few training images) decides whether DDP must look
    for unused parameters (a frozen backbone's are excluded already: they need no gradients).
    """
    plain = _Loss(model)
    if not ctx.enabled:
        return plain
    pixels, embeddings, labels = sample
    x = prepare_batch(torch.from_numpy(pixels).to(embeddings.device), model.backbone.preprocess)
    find_unused = bool(unused_parameters(model, x, embeddings, labels))
    device = next(model.parameters()).device
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(plain, device_ids=ids, find_unused_parameters=find_unused)


def agree(compute: Callable[[], float], ctx: DistContext) -> float:
    """Rank 0's value of ``compute()`` on every rank (the others do not compute it)."""
    if not ctx.enabled:
        return compute()
    value = torch.tensor([compute() if ctx.is_main else 0.0], dtype=torch.float64, device=ctx.comm_device)
    tdist.broadcast(value, src=0)
    return float(value.item())


def mean_over_ranks(value: float, ctx: DistContext) -> float:
    """The mean of a per-rank number (e.g. the epoch's training loss) over all ranks."""
    if not ctx.enabled:
        return value
    total = torch.tensor([value], dtype=torch.float64, device=ctx.comm_device)
    tdist.all_reduce(total)
    return float(total.item()) / ctx.world_size


def share(obj: T | None, ctx: DistContext) -> T:
    """Rank 0's ``obj`` (picklable) on every rank; the others pass None."""
    if not ctx.enabled:
        return obj  # type: ignore[return-value]
    box: list[Any] = [obj if ctx.is_main else None]
    tdist.broadcast_object_list(box, src=0)
    return box[0]

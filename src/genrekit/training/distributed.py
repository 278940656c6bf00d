"""Data-parallel training with ``torch.distributed`` (DDP), launched by ``torchrun``.

``genrekit train ... --nproc N`` re-runs the same command under
``python -m torch.distributed.run --standalone --nproc_per_node N`` (gloo on CPU, NCCL on
GPUs, one GPU per process). How a run stays the run one process would make:

- every rank draws the same seeded epoch order and builds the same *global* batch (crops,
  augmentation, mixup pairs), then keeps its shard ``batch[rank::world]``: class-balanced
  upsampling, crops and augmentation do not depend on the number of processes;
- the class-weighted loss of a shard is normalised by the *global* batch's weight sum (and
  multiplied by the world size, since DDP averages gradients), so the averaged gradient is
  exactly the single-process gradient of the global batch;
- BatchNorm: SyncBatchNorm on GPUs; on CPU (gloo) each process normalises with its shard's
  statistics (SyncBatchNorm is GPU-only in torch), so runs agree in distribution, not
  bitwise, unless the model normalises per sample (``norm=group``);
- rank 0 alone computes the feature cache first (the others then read it), validates,
  writes checkpoints, metrics and curves and prints; its decisions (early stopping) are
  broadcast. ``last.pt`` is the same file whatever the world size, so ``--resume`` works
  with another ``--nproc``.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from dataclasses import dataclass

from ..errors import ParameterError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.size > 1:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        """Leave the process group once every rank is done, with nothing else holding it
        (drop the DDP wrapper first): a process group that outlives the interpreter's
        shutdown tears gloo's threads down too late and can abort the process ("terminate
        called without an active exception", pytorch#190489 and #179291). Only on
        success: a rank that failed must not wait for the others."""
        if self.size > 1:
            import gc

            import torch.distributed as dist

            gc.collect()  # DDP's reducer and hooks, which hold the group, form cycles
            dist.barrier()
            dist.destroy_process_group()

    def broadcast(self, obj):
        """Rank 0's ``obj`` on every rank."""
        if self.size == 1:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def launched() -> bool:
    """True inside a process that torchrun started."""
    return "LOCAL_RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device_name: str) -> tuple[World, str]:
    """Join the process group when torchrun started us; returns the world and the device
    name this rank should use (``cuda:LOCAL_RANK`` for GPUs)."""
    if not launched():
        return World(), device_name
    import torch
    import torch.distributed as dist

    local = int(os.environ["LOCAL_RANK"])
    cuda = device_name.startswith("cuda") or (device_name == "auto"
                                              and torch.cuda.is_available())
    if cuda:
        torch.cuda.set_device(local)
        device_name = f"cuda:{local}"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo",
                                timeout=datetime.timedelta(hours=6))  # rank 0 may preprocess
    return World(dist.get_rank(), dist.get_world_size()), device_name


def wrap(model, device, world: World, *, find_unused: bool):
    """The model DDP trains (SyncBatchNorm first on GPUs); unchanged for one process."""
    if world.size == 1:
        return model
    import torch
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return DistributedDataParallel(model, device_ids=[device.index],
                                       find_unused_parameters=find_unused)
    return DistributedDataParallel(model, find_unused_parameters=find_unused)


def check(train_cfg, nproc: int) -> None:
    """What a data-parallel run cannot do, refused before any process starts."""
    if nproc < 1:
        raise ParameterError(f"--nproc must be >= 1, got {nproc}")
    if nproc > 1 and train_cfg.freeze_epochs >= train_cfg.epochs:
        raise ParameterError("a frozen-backbone run (freeze_epochs >= epochs) trains only the "
                             "head on precomputed embeddings: run it in one process")


def launch(argv: list[str], nproc: int) -> int:
    """Run ``genrekit`` with ``argv`` in ``nproc`` processes under torchrun (each with its
    share of the CPU threads); returns torchrun's exit status."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", "-m", "genrekit.cli", *argv]
    return subprocess.call(cmd, env=env)


def strip_option(argv: list[str], name: str) -> list[str]:
    """``argv`` without ``name VALUE`` / ``name=VALUE``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == name:
            skip = True
        elif not a.startswith(name + "="):
            out.append(a)
    return out

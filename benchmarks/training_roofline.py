"""One training step of SE-ECGNet against this machine's roofline, for 1 and 2 threads.

- Ceilings, measured in the same run: the float32 matrix product (and bfloat16 where the CPU has
  it) of two 2048 × 2048 matrices, and the memory bandwidth of a copy between two arrays of 8 times
  the last-level cache (bytes read plus bytes written per second).
- One step, as ``train_model.py`` runs it on the CPU: the default network (``build_network``),
  batch 32 of 10 s windows, forward (in the layout and precision of the variant, through
  :mod:`seecgnet.training.steps`),
  label smoothing and hard-mined weighted BCE, backward and the one-cycle AdamW step of
  :func:`seecgnet.training.optimisation.one_cycle`.
- Counted: every aten operation of one step, intercepted below autograd (backward and optimiser
  included), with its FLOPs (matrix products and convolutions by torch's own formulas, elementwise
  and reducing operations at one FLOP per element written) and its bytes (each input tensor read
  once, each output written once; views move nothing), and its own time, timed one by one (the
  fastest of several steps). An operation's bound is the longer of its FLOPs at the float32 matmul
  rate and its bytes at the memory bandwidth; the step's per-operation bound is their sum, its
  global bound the longer of all its FLOPs at that rate and all its bytes at that bandwidth.
- Step times and ceilings: the matmuls, the copy and each variant's step (float32 and bf16
  autocast, each in torch's default order, as ``train_model.py`` trains by default, and
  channels-last, the setting ``channels_last``) take turns, round after round, and each counts its
  fastest of ``--steps`` rounds, so that other work on the machine disturbs them alike; the ratios
  to the default are printed. The in-place ReLU and residual sums of
  :mod:`seecgnet.models.layers` are in every variant.

    python benchmarks/training_roofline.py [--quick] [--threads 1 2] [--steps 21] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seecgnet.models.registry import build_network
from seecgnet.trained.settings import Settings, TrainSettings
from seecgnet.training.loss import hard_mining_bce, smoothed_targets
from seecgnet.training.optimisation import one_cycle
from seecgnet.training.steps import autocast, training_layout

CPU = torch.device("cpu")
MATMUL_SIZE = 2048


@dataclass(frozen=True)
class Ceilings:
    matmul_flops: float  # float32, FLOP/s
    bf16_flops: float | None  # None where the CPU has no bfloat16 arithmetic
    bandwidth: float  # bytes/s
    array_mb: float


def last_level_cache_bytes() -> int:
    """The largest cache the CPU reports, 32 MiB where it reports none."""
    sizes = []
    for entry in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = entry.read_text().strip().upper()
        scale = {"K": 1024, "M": 1024**2}.get(text[-1:], 1)
        sizes.append(int(text.rstrip("KM")) * scale)
    return max(sizes, default=32 * 1024**2)


def ceiling_probes() -> tuple[list[Callable[[], object]], Callable[[list[float]], Ceilings]]:
    """The work that measures the ceilings (matmul in float32, in bf16 where the CPU has it, a copy
    through memory), and what turns the fastest time of each into the ceilings."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(MATMUL_SIZE, MATMUL_SIZE, generator=generator)
    b = torch.randn(MATMUL_SIZE, MATMUL_SIZE, generator=generator)
    a16, b16 = a.bfloat16(), b.bfloat16()
    elements = 8 * last_level_cache_bytes() // 4
    source, target = torch.rand(elements), torch.empty(elements)
    work = [lambda: torch.matmul(a, b), lambda: target.copy_(source)]
    has_bf16 = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    if has_bf16:
        work.append(lambda: torch.matmul(a16, b16))
    flops = 2 * MATMUL_SIZE**3

    def ceilings(seconds: list[float]) -> Ceilings:
        bf16 = flops / seconds[2] if has_bf16 else None
        return Ceilings(flops / seconds[0], bf16, 2 * 4 * elements / seconds[1], 4 * elements / 1e6)

    return work, ceilings


@dataclass
class Operation:
    name: str
    phase: str
    flops: float
    bytes: float
    seconds: float

    def bound(self, ceilings: Ceilings) -> float:
        return max(self.flops / ceilings.matmul_flops, self.bytes / ceilings.bandwidth)


def _tensor_bytes(values: object) -> tuple[float, set[int]]:
    """Bytes of the distinct tensors among ``values`` (a nest of arguments), and their storages."""
    seen, total = set(), 0.0
    for value in tree_flatten(values)[0]:
        if isinstance(value, torch.Tensor) and value.numel():
            key = (value.untyped_storage().data_ptr(), value.storage_offset(), value.shape)
            if key not in seen:
                seen.add(key)
                total += value.numel() * value.element_size()
    return total, {k[0] for k in seen}


class OperationLog(TorchDispatchMode):
    """Every aten operation run under it, with its FLOPs, bytes and time, in ``phase``."""

    def __init__(self) -> None:
        super().__init__()
        self.phase = "forward"
        self.operations: list[Operation] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        started = time.perf_counter()
        out = func(*args, **kwargs)
        seconds = time.perf_counter() - started
        if func.is_view:
            moved = 0.0
        else:
            read, _ = _tensor_bytes((args, kwargs))
            written, _ = _tensor_bytes(out)
            moved = read + written
        packet = func.overloadpacket
        if packet in flop_registry:
            flops = float(flop_registry[packet](*args, **kwargs, out_val=out))
        else:  # elementwise and reducing operations: one FLOP per element written
            flops = float(
                sum(t.numel() for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor))
            )
        self.operations.append(Operation(packet.__name__, self.phase, flops, moved, seconds))
        return out


@dataclass
class Variant:
    """One way of running the step: its settings, its network and its optimiser."""

    title: str
    config: TrainSettings
    network: torch.nn.Module
    step: Callable[[], None]
    parts: Callable[[OperationLog], None]


def make_variant(
    title: str, config: TrainSettings, network: torch.nn.Module, batch: tuple
) -> Variant:
    """A variant whose ``step`` is train_model.py's (forward, loss, Optimisation.step) and whose
    ``parts`` runs the same operations phase by phase for the operation log."""
    settings = Settings()
    x, side, targets, weights = batch
    optimisation = one_cycle(network.parameters(), config, 10**6)
    layout = contextlib.ExitStack()
    layout.enter_context(training_layout(network, config.channels_last))
    network.train()

    def loss() -> torch.Tensor:
        with autocast(CPU, config):
            logits = network(x, side).float()
        smoothed = smoothed_targets(targets, settings.loss.label_smoothing)
        return hard_mining_bce(logits, smoothed, weights, settings.loss.hard_fraction)

    def step() -> None:
        optimisation.step(loss())

    def parts(log: OperationLog) -> None:
        log.phase = "forward"
        with autocast(CPU, config):
            logits = network(x, side).float()
        log.phase = "loss"
        smoothed = smoothed_targets(targets, settings.loss.label_smoothing)
        value = hard_mining_bce(logits, smoothed, weights, settings.loss.hard_fraction)
        log.phase = "backward"
        optimisation.optimiser.zero_grad(set_to_none=True)
        value.backward()
        log.phase = "optimiser"
        optimisation.optimiser.step()
        optimisation.scheduler.step()

    return Variant(title, config, network, step, parts)


def make_variants(batch_size: int) -> list[Variant]:
    torch.manual_seed(0)
    network = build_network(Settings().network)
    generator = torch.Generator().manual_seed(1)
    batch = (
        torch.randn(batch_size, 1, 12, network.settings.window_samples, generator=generator),
        torch.randn(batch_size, 5, generator=generator),
        (torch.rand(batch_size, 24, generator=generator) < 0.1).float(),
        torch.ones(24),
    )
    default = TrainSettings()
    configs = [
        ("float32 (the default)", default),
        ("float32, channels-last", replace(default, channels_last=True)),
        ("bf16 (--precision bf16)", replace(default, precision="bf16")),
        ("bf16, channels-last", replace(default, precision="bf16", channels_last=True)),
    ]
    return [make_variant(t, c, copy.deepcopy(network), batch) for t, c in configs]


def interleaved_best(work: list[Callable[[], object]], rounds: int) -> list[float]:
    """The fastest time of each piece of work, the pieces alternating round after round (after two
    untimed rounds), so that other work on the machine slows them alike."""
    best = [float("inf")] * len(work)
    for k in range(rounds + 2):
        for i, piece in enumerate(work):
            started = time.perf_counter()
            piece()
            if k >= 2:
                best[i] = min(best[i], time.perf_counter() - started)
    return best


def logged_step(variant: Variant, repeats: int) -> list[Operation]:
    """The step's operations, each with the fastest of its times over ``repeats`` logged steps."""
    variant.step()  # the optimiser's state is made at its first step
    runs = []
    for _ in range(repeats):
        with OperationLog() as log:
            variant.parts(log)
        runs.append(log.operations)
    operations = runs[0]
    for other in runs[1:]:
        for operation, again in zip(operations, other, strict=True):
            operation.seconds = min(operation.seconds, again.seconds)
    return operations


@dataclass(frozen=True)
class Bounds:
    flops: float
    bytes: float
    global_s: float
    per_operation_s: float
    convolution_s: float


def step_bounds(operations: list[Operation], ceilings: Ceilings) -> Bounds:
    flops = sum(o.flops for o in operations)
    moved = sum(o.bytes for o in operations)
    return Bounds(
        flops,
        moved,
        max(flops / ceilings.matmul_flops, moved / ceilings.bandwidth),
        sum(o.bound(ceilings) for o in operations),
        sum(o.bound(ceilings) for o in operations if o.name.startswith("convolution")),
    )


def print_ceilings(threads: int, ceilings: Ceilings) -> None:
    bf16 = "none" if ceilings.bf16_flops is None else f"{ceilings.bf16_flops / 1e9:.0f} GFLOP/s"
    print(f"\n== {threads} thread{'s' if threads > 1 else ''} ==")
    print(
        f"ceilings: float32 matmul {ceilings.matmul_flops / 1e9:.0f} GFLOP/s, bf16 matmul {bf16}, "
        f"memory {ceilings.bandwidth / 1e9:.1f} GB/s (copy of {ceilings.array_mb:.0f} MB)"
    )


def print_step(operations: list[Operation], ceilings: Ceilings, title: str) -> Bounds:
    bounds = step_bounds(operations, ceilings)
    phases = defaultdict(float)
    for operation in operations:
        phases[operation.phase] += operation.bytes
    moved = ", ".join(f"{phase} {b / 1e9:.2f}" for phase, b in phases.items())
    print(
        f"one step, {title}: {bounds.flops / 1e9:.2f} GFLOP, {bounds.bytes / 1e9:.2f} GB moved "
        f"({moved}), {bounds.flops / bounds.bytes:.1f} FLOP/byte; bounds: global "
        f"{bounds.global_s * 1e3:.0f} ms, per operation {bounds.per_operation_s * 1e3:.0f} ms "
        f"(convolutions {bounds.convolution_s * 1e3:.0f}, the rest "
        f"{(bounds.per_operation_s - bounds.convolution_s) * 1e3:.0f})"
    )
    return bounds


def print_times(variants: list[Variant], times: list[float], bounds: list[Bounds]) -> None:
    print(
        f"{'step (fastest, interleaved)':<34} {'ms':>7} {'global':>7} {'per-op':>7} {'speed-up':>9}"
    )
    for variant, seconds, bound in zip(variants, times, bounds, strict=True):
        print(
            f"{variant.title:<34} {seconds * 1e3:7.1f} {bound.global_s / seconds:7.0%} "
            f"{bound.per_operation_s / seconds:7.0%} {times[0] / seconds:8.2f}x"
        )


def print_top(operations: list[Operation], ceilings: Ceilings, step_s: float, top: int) -> None:
    groups: dict[tuple[str, str], list[Operation]] = defaultdict(list)
    for operation in operations:
        groups[operation.name, operation.phase].append(operation)
    logged = sum(o.seconds for o in operations)
    print(
        f"top operations by time (each timed alone; they sum to {logged * 1e3:.0f} ms, the step "
        f"takes {step_s * 1e3:.0f} ms):"
    )
    print(
        f"  {'operation':<30} {'phase':<9} {'calls':>5} {'ms':>7} {'share':>6} {'GFLOP':>6} "
        f"{'MB':>7} {'bound':>6} {'reached':>7}  limit"
    )
    ranked = sorted(groups.items(), key=lambda item: -sum(o.seconds for o in item[1]))
    for (name, phase), members in ranked[:top]:
        seconds = sum(o.seconds for o in members)
        flops = sum(o.flops for o in members)
        moved = sum(o.bytes for o in members)
        bound = sum(o.bound(ceilings) for o in members)
        limit = (
            "compute" if flops / ceilings.matmul_flops > moved / ceilings.bandwidth else "memory"
        )
        print(
            f"  {name:<30} {phase:<9} {len(members):5d} {seconds * 1e3:7.1f} "
            f"{seconds / logged:6.1%} {flops / 1e9:6.2f} {moved / 1e6:7.0f} {bound * 1e3:6.1f} "
            f"{bound / seconds:7.0%}  {limit}"
        )
    print(
        "  (reached above 100 %: the operation's tensors lay in the last-level cache, faster than "
        "the memory the bound assumes)"
    )


# The kinds of operation the comparison of the variants names, by aten name.
KINDS = {
    "convolution": "convolution forward",
    "convolution_backward": "convolution backward",
    "native_batch_norm": "batch norm forward",
    "native_batch_norm_backward": "batch norm backward",
    "relu_": "ReLU forward",
    "relu": "ReLU forward",
    "threshold_backward": "ReLU backward",
    "copy_": "layout and type copies",
    "_to_copy": "layout and type copies",
    "clone": "layout and type copies",
}


def print_kinds(variants: list[Variant], logs: list[list[Operation]]) -> None:
    """Each variant's operation time by kind (each operation timed alone), side by side."""
    names = [*dict.fromkeys(KINDS.values()), "optimiser", "everything else"]
    totals = []
    for log in logs:
        kinds: dict[str, float] = defaultdict(float)
        for operation in log:
            kind = KINDS.get(operation.name, "everything else")
            kinds["optimiser" if operation.phase == "optimiser" else kind] += operation.seconds
        totals.append(kinds)
    print(f"  {'ms by kind':<26}" + "".join(f"{v.title[:24]:>25}" for v in variants))
    for name in names:
        print(f"  {name:<26}" + "".join(f"{kinds[name] * 1e3:25.1f}" for kinds in totals))


def run(threads: int, variants: list[Variant], steps: int, repeats: int, top: int) -> None:
    torch.set_num_threads(threads)
    logs = [logged_step(variant, repeats) for variant in variants]
    probes, to_ceilings = ceiling_probes()
    best = interleaved_best([*probes, *(v.step for v in variants)], steps)
    ceilings, times = to_ceilings(best[: len(probes)]), best[len(probes) :]
    print_ceilings(threads, ceilings)
    bounds = []
    for log, variant in zip(logs, variants, strict=True):
        # a bf16 step's arithmetic is held against the bf16 matmul rate where there is one
        rate = ceilings.bf16_flops if variant.config.precision == "bf16" else None
        held = ceilings if rate is None else replace(ceilings, matmul_flops=rate)
        bounds.append(print_step(log, held, variant.title))
    print_times(variants, times, bounds)
    print_kinds(variants, logs)
    print_top(logs[0], ceilings, times[0], top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 steps, 2 repeats: a rough look")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=21, help="timed steps of each variant")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--top", type=int, default=12, help="operations listed")
    args = parser.parse_args()
    steps, repeats = (5, 2) if args.quick else (args.steps, 5)
    variants = make_variants(args.batch_size)
    print(
        f"SE-ECGNet training step, batch {args.batch_size}, torch {torch.__version__}; "
        f"fastest of {steps} interleaved steps per variant"
    )
    for threads in args.threads:
        run(threads, variants, steps, repeats, args.top)


if __name__ == "__main__":
    main()

"""Latency, throughput, peak memory and GMACs of a config's model, side by
side with its stock MMSegmentation / MMDetection / MMPose / MMPretrain twin.

``tools/benchmark.py`` is the command-line front end. The stock twin of one
of our configs is named by the config itself, in a top-level field::

    stock_equivalent = 'mmseg::ocrnet/ocrnet_hr18_4xb2-80k_cityscapes-512x1024.py'

The benchmark builds both models, gives the stock one random weights and
BatchNorm statistics calibrated on a random batch (:func:`random_model`),
converts its state dict into ours with the
converter of the config's library (``--from`` its ``default_scope``),
checks that both give the same outputs, then times them with their runs
interleaved (ours, stock, ours, stock ...) so that machine drift hits both
alike, and reports medians and the ratio.
"""
import contextlib
import copy
import os
import resource
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from hrseg_plugin.utils import (build_model_from_config, calibrate_norms_,
                                compare, randomize_, resolve_config_path)

from .bench_inputs import make_inputs

#: Modes of :func:`make_step`.
MODES = ('infer', 'train')
#: What an infer step runs: the whole network or backbone (+ neck) only.
PARTS = ('model', 'backbone')


class BenchmarkError(Exception):
    """A benchmark that cannot run as asked (no stock twin, outputs that
    disagree, an unsupported model)."""


@dataclass
class Timing:
    """The measurements of one model."""
    name: str
    config: str
    seconds: List[float] = field(default_factory=list)
    gmacs: Optional[float] = None
    params_m: Optional[float] = None
    peak_rss_mib: Optional[float] = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def images_per_second(self, batch: int) -> float:
        return batch / self.median

    def summary(self, batch: int) -> dict:
        out = asdict(self)
        out.update(
            median_s=self.median, images_per_s=self.images_per_second(batch))
        return out


def build_model(config: str, cfg_options: Optional[dict] = None
                ) -> nn.Module:
    """Build a config's model (``mmseg::`` / ``mmdet::`` paths resolved)
    without loading any weights file."""
    return build_model_from_config(
        resolve_config_path(config, error=BenchmarkError), cfg_options)


def load_stock_weights(ours: nn.Module, stock: nn.Module, scope: str) -> None:
    """Convert the stock model's state dict with the ``--from <scope>``
    converter and load it strictly into ours."""
    from hrseg_plugin.converters import (check_state_dict_against_model,
                                         convert_checkpoint)
    result = convert_checkpoint(scope, {'state_dict': stock.state_dict()})
    check_state_dict_against_model(result.state_dict, ours,
                                   'our model (built from the config)')
    ours.load_state_dict(result.state_dict, strict=True)


def random_model(config: str, part: str = 'model',
                 shape: Sequence[int] = (512, 1024),
                 cfg_options: Optional[dict] = None) -> nn.Module:
    """A config's model with random weights (:func:`randomize_`) and
    BatchNorm statistics calibrated on a random batch of ``shape``
    (:func:`calibrate_norms_`): well-conditioned outputs, so that ours and
    stock can be held to 1e-4 even for HRNet-W48."""
    model = randomize_(build_model(config, cfg_options))
    calibration = make_inputs(model, 2, shape, seed=1)
    return calibrate_norms_(
        model, lambda: network_outputs(model, calibration, part))


def network_outputs(model: nn.Module, data: dict,
                    part: str = 'model') -> List[torch.Tensor]:
    """The raw outputs (``mode='tensor'``, or the backbone/neck features)
    as a flat list of tensors."""
    with torch.no_grad():
        if part == 'backbone':
            out = model.extract_feat(data['inputs'])
        else:
            out = model(data['inputs'], data['data_samples'], mode='tensor')
    flat = []

    def walk(x):
        if isinstance(x, torch.Tensor):
            flat.append(x)
        elif isinstance(x, (list, tuple)):
            for y in x:
                walk(y)
        elif isinstance(x, dict):
            for y in x.values():
                walk(y)

    walk(out)
    return flat


def max_rel_error(ours: List[torch.Tensor],
                  stock: List[torch.Tensor]) -> float:
    """The largest ``||a - b|| / ||b||`` over paired outputs."""
    return compare.max_rel_error(ours, stock, ('ours', 'stock'),
                                 BenchmarkError)


def autocast(amp: bool):
    """Mixed precision as ``tools/train.py --amp`` runs it: bfloat16 on CPU
    (float16 on CUDA); a no-op context when ``amp`` is False."""
    if not amp:
        return contextlib.nullcontext()
    if torch.cuda.is_available():
        return torch.autocast('cuda', dtype=torch.float16)
    return torch.autocast('cpu', dtype=torch.bfloat16)


def make_step(model: nn.Module, data: dict, mode: str,
              part: str = 'model', amp: bool = False,
              compile: bool = False) -> Callable[[], None]:
    """A function running one timed step of ``model``.

    ``infer``: a no-grad forward in eval mode (``mode='tensor'``: the
    network, without resizing to the input size or post-processing; with
    ``part='backbone'`` only ``extract_feat``). ``train``: a forward with
    the loss, backward and an SGD step in train mode. ``amp``: the forward
    under :func:`autocast`. ``compile``: the forward through
    ``torch.compile`` (compiled at the first call: time it in warm-up).
    """
    forward = torch.compile(model.forward) if compile else model.forward
    if mode == 'infer':
        model.eval()

        def step():
            with torch.no_grad(), autocast(amp):
                if part == 'backbone':
                    model.extract_feat(data['inputs'])
                else:
                    forward(data['inputs'], data['data_samples'], 'tensor')

        return step
    model.train()
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=1e-6)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast(amp):
            losses = forward(data['inputs'],
                             copy.deepcopy(data['data_samples']), 'loss')
        loss, _ = model.parse_losses(losses)
        loss.backward()
        optimizer.step()

    return step


class _Features(nn.Module):
    """A segmentor / detector seen as image -> backbone (+ neck) features."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        return self.model.extract_feat(x)


class _Tensor(nn.Module):
    """An mmpose estimator seen as image -> heatmaps (its forward takes
    data_samples without a default)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        return self.model(x, None, 'tensor')


def network_part(model: nn.Module, part: str = 'model') -> nn.Module:
    """The module whose forward takes the images: the model itself
    (``'model'``) or its backbone + neck (``'backbone'``)."""
    if part == 'backbone':
        return _Features(model)
    if type(model).__module__.startswith('mmpose'):
        return _Tensor(model)
    return model


def part_parameters(model: nn.Module, part: str = 'model') -> float:
    """Parameters (millions) of :func:`network_part`: the whole model, or
    its backbone and neck only."""
    if part != 'backbone':
        modules = [model]
    else:
        modules = [getattr(model, name) for name in ('backbone', 'neck')
                   if getattr(model, name, None) is not None]
    return sum(p.numel() for m in modules for p in m.parameters()) / 1e6


def count_complexity(model: nn.Module, data: dict,
                     part: str = 'model') -> Dict[str, float]:
    """GMACs and parameters (millions) from mmengine's analysis tool; empty
    when the analysis cannot trace the model."""
    from mmengine.analysis import FlopAnalyzer
    model.eval()
    target = network_part(model, part)
    inputs = (data['inputs'], )
    try:
        flops = FlopAnalyzer(target, inputs)
        flops.unsupported_ops_warnings(False)
        flops.uncalled_modules_warnings(False)
        macs = flops.total() / 1e9  # mmengine counts one MAC as one flop
    except Exception:  # noqa: BLE001 - analysis is best effort
        macs = None
    return dict(gmacs=macs, params_m=part_parameters(model, part))


def _status_mib(field_name: str) -> float:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in MiB."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field_name + ':'):
                return int(line.split()[1]) / 1024
    raise BenchmarkError(f'/proc/self/status has no {field_name}')


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS (Linux
    >= 4.0, ``/proc/self/clear_refs``); False where that is not possible."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    """This process's peak resident set size since the last
    :func:`reset_peak_rss` (or since it started)."""
    try:
        return _status_mib('VmHWM')
    except (OSError, BenchmarkError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_interleaved(steps: Dict[str, Callable[[], None]], warmup: int,
                     repeat: int, progress: bool = True
                     ) -> Dict[str, List[float]]:
    """Run every step ``warmup`` times, then ``repeat`` rounds in which
    each step runs once, alternating which goes first; return the seconds
    of each timed run."""
    from tqdm import tqdm
    names = list(steps)
    total = (warmup + repeat) * len(names)
    times = {n: [] for n in names}
    with tqdm(total=total, desc='benchmark', unit='run',
              disable=not progress, leave=False) as bar:
        for _ in range(warmup):
            for n in names:
                steps[n]()
                bar.update()
        for r in range(repeat):
            order = names if r % 2 == 0 else names[::-1]
            for n in order:
                t0 = time.perf_counter()
                steps[n]()
                times[n].append(time.perf_counter() - t0)
                bar.update()
    return times


def measure_peak_memory(config: str, mode: str, batch: int,
                        shape: Sequence[int], part: str,
                        cfg_options: Optional[dict] = None,
                        amp: bool = False) -> float:
    """Peak RSS (MiB) of one step, in a fresh process that builds the
    config's model (weights, imports and inputs included, so the figure is
    what the machine must hold): one number per model, not disturbed by the
    other model living in the benchmark's process. On a GPU this is where
    ``torch.cuda.max_memory_allocated`` would go; this tool runs on CPU."""
    import multiprocessing as mp
    ctx = mp.get_context('spawn')
    with ctx.Pool(1) as pool:
        return pool.apply(
            _peak_memory_worker,
            (config, mode, batch, tuple(shape), part, cfg_options,
             torch.get_num_threads(), amp))


def _peak_memory_worker(config, mode, batch, shape, part, cfg_options,
                        threads, amp=False):
    torch.set_num_threads(threads)
    model = random_model(config, part, shape, cfg_options)
    data = make_inputs(model, batch, shape)
    step = make_step(model, data, mode, part, amp)
    step()  # the first run allocates the caches; then measure a steady one
    reset_peak_rss()
    step()
    return peak_rss_mib()


def describe_environment() -> dict:
    import platform
    return dict(
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        cpu=platform.processor() or platform.machine(),
        cores=os.cpu_count(),
        cuda=torch.cuda.is_available())

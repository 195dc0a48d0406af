"""How fast a model's convolutions run: time and GMAC/s per conv shape,
from the torch profiler (``tools/benchmark.py --profile N``).

The point is the arithmetic floor: when the convolutions that hold most of a
network's GMACs already run at the machine's best conv throughput, no
rearrangement of the rest can make the network much faster in float32.
"""
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, List, Tuple


@dataclass
class ConvShape:
    """The forward convolutions of one shape, per step."""
    input_shape: Tuple[int, ...]
    weight_shape: Tuple[int, ...]
    stride: Tuple[int, ...]
    groups: int
    calls: float  # per step
    seconds: float  # per step, all calls
    gmacs: float  # per call

    @property
    def gmac_per_second(self) -> float:
        return self.gmacs * self.calls / self.seconds if self.seconds else 0.


def conv_macs(input_shape, weight_shape, stride, padding, dilation,
              groups) -> int:
    """Multiply-accumulates of one 2-D convolution (bias not counted)."""
    n, _, h, w = input_shape
    c_out, c_in_per_group, kh, kw = weight_shape
    h_out = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    return n * c_out * h_out * w_out * c_in_per_group * kh * kw


def profile_convolutions(step: Callable[[], None], runs: int = 2
                         ) -> Tuple[float, List[ConvShape]]:
    """Run ``step`` ``runs`` times under the torch profiler; return the
    seconds per step (profiler overhead included) and the forward 2-D
    convolutions (``aten::convolution``, not transposed) grouped by shape,
    slowest first. Backward convolutions are not included."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU],
                 record_shapes=True) as prof:
        start = time.perf_counter()
        for _ in range(runs):
            step()
        wall = (time.perf_counter() - start) / runs
    groups = defaultdict(lambda: [0, 0.0, 0])
    for event in prof.events():
        if event.name != 'aten::convolution':
            continue
        shapes, args = event.input_shapes, event.concrete_inputs
        # (input, weight, bias, stride, padding, dilation, transposed,
        #  output_padding, groups)
        if len(shapes[0]) != 4 or args[6]:
            continue
        stride, padding, dilation, groups_ = (tuple(args[3]), tuple(args[4]),
                                              tuple(args[5]), args[8])
        key = (tuple(shapes[0]), tuple(shapes[1]), stride, groups_)
        entry = groups[key]
        entry[0] += 1
        entry[1] += event.cpu_time_total / 1e6
        entry[2] = conv_macs(shapes[0], shapes[1], stride, padding, dilation,
                             groups_)
    shapes = [
        ConvShape(key[0], key[1], key[2], key[3], calls / runs,
                  seconds / runs, macs / 1e9)
        for key, (calls, seconds, macs) in groups.items()
    ]
    return wall, sorted(shapes, key=lambda s: -s.seconds)


def format_conv_profile(name: str, wall: float, shapes: List[ConvShape],
                        top: int) -> str:
    """A summary line and the ``top`` slowest conv shapes as a table."""
    conv_s = sum(s.seconds for s in shapes)
    gmacs = sum(s.gmacs * s.calls for s in shapes)
    lines = [
        f'{name}: forward convolutions {conv_s:.3f} s of {wall:.3f} s per '
        f'step under the profiler ({100 * conv_s / wall:.0f}%), '
        f'{gmacs:.1f} GMAC at {gmacs / conv_s if conv_s else 0:.1f} GMAC/s',
        f'  {"input":>20s} {"weight":>18s} {"stride":>6s} {"groups":>6s} '
        f'{"calls":>6s} {"ms/call":>8s} {"GMAC/call":>9s} {"GMAC/s":>7s}'
    ]
    for s in shapes[:top]:
        lines.append(
            f'  {"x".join(map(str, s.input_shape)):>20s} '
            f'{"x".join(map(str, s.weight_shape)):>18s} '
            f'{"x".join(map(str, s.stride)):>6s} {s.groups:6d} '
            f'{s.calls:6g} {1e3 * s.seconds / s.calls:8.2f} '
            f'{s.gmacs:9.3f} {s.gmac_per_second:7.1f}')
    return '\n'.join(lines)

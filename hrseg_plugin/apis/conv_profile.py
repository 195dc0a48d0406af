"""How fast a model's convolutions run: time and GMAC/s per conv shape,
forward and backward, from the torch profiler (``tools/benchmark.py
--profile N``).

The point is the arithmetic floor: when the convolutions that hold most of a
network's GMACs already run at the machine's best conv throughput, no
rearrangement of the rest can make the network much faster in float32. For a
training step the backward convolutions are counted too
(``aten::convolution_backward``: the gradient of the input and the gradient
of the weight, each as many MACs as the forward conv), and the ops that take
the rest of the step are listed by their own (self) time.
"""
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, List, Tuple

#: The two passes a conv shape is counted in.
PASSES = ('forward', 'backward')


@dataclass
class ConvShape:
    """The convolutions of one shape in one pass, per step."""
    input_shape: Tuple[int, ...]
    weight_shape: Tuple[int, ...]
    stride: Tuple[int, ...]
    groups: int
    calls: float  # per step
    seconds: float  # per step, all calls
    gmacs: float  # per call (backward: input + weight gradients computed)
    pass_: str = 'forward'

    @property
    def gmac_per_second(self) -> float:
        return self.gmacs * self.calls / self.seconds if self.seconds else 0.


@dataclass
class OpTime:
    """An aten op's own time (children excluded), per step."""
    name: str
    calls: float
    seconds: float


def conv_macs(input_shape, weight_shape, stride, padding, dilation,
              groups) -> int:
    """Multiply-accumulates of one 2-D convolution (bias not counted)."""
    n, _, h, w = input_shape
    c_out, c_in_per_group, kh, kw = weight_shape
    h_out = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    return n * c_out * h_out * w_out * c_in_per_group * kh * kw


def _conv_key(event):
    """(pass, key, MACs per call) of a 2-D conv event, or None.

    ``aten::convolution`` inputs: (input, weight, bias, stride, padding,
    dilation, transposed, output_padding, groups); ``aten::convolution_
    backward``: (grad_output, input, weight, bias_sizes, stride, padding,
    dilation, transposed, output_padding, groups, output_mask)."""
    shapes, args = event.input_shapes, event.concrete_inputs
    if event.name == 'aten::convolution':
        x, w, rest, pass_, factor = shapes[0], shapes[1], args[3:], \
            'forward', 1
    elif event.name == 'aten::convolution_backward':
        x, w, rest, pass_ = shapes[1], shapes[2], args[4:], 'backward'
        mask = args[10] or [True, True, False]
        factor = int(bool(mask[0])) + int(bool(mask[1]))
    else:
        return None
    stride, padding, dilation, transposed, _, groups = rest[:6]
    if len(x) != 4 or transposed:
        return None
    stride, padding, dilation = tuple(stride), tuple(padding), tuple(dilation)
    key = (pass_, tuple(x), tuple(w), stride, groups)
    return key, factor * conv_macs(x, w, stride, padding, dilation, groups)


def profile_step(step: Callable[[], None], runs: int = 2
                 ) -> Tuple[float, List[ConvShape], List[OpTime]]:
    """Run ``step`` ``runs`` times under the torch profiler.

    Returns:
        tuple: The seconds per step (profiler overhead included); the 2-D
        convolutions (not transposed) grouped by pass and shape, slowest
        first; every aten op with its self time per step, slowest first.
    """
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU],
                 record_shapes=True) as prof:
        start = time.perf_counter()
        for _ in range(runs):
            step()
        wall = (time.perf_counter() - start) / runs
    convs = defaultdict(lambda: [0, 0.0, 0])
    ops = defaultdict(lambda: [0, 0.0])
    for event in prof.events():
        op = ops[event.name]
        op[0] += 1
        op[1] += event.self_cpu_time_total / 1e6
        found = _conv_key(event)
        if found is None:
            continue
        key, macs = found
        entry = convs[key]
        entry[0] += 1
        entry[1] += event.cpu_time_total / 1e6
        entry[2] = macs
    shapes = [
        ConvShape(key[1], key[2], key[3], key[4], calls / runs,
                  seconds / runs, macs / 1e9, key[0])
        for key, (calls, seconds, macs) in convs.items()
    ]
    op_times = [OpTime(n, c / runs, s / runs) for n, (c, s) in ops.items()]
    return (wall, sorted(shapes, key=lambda s: -s.seconds),
            sorted(op_times, key=lambda o: -o.seconds))


def profile_convolutions(step: Callable[[], None], runs: int = 2
                         ) -> Tuple[float, List[ConvShape]]:
    """:func:`profile_step` without the op list: the seconds per step and
    the conv shapes of both passes (a step without backward has forward
    ones only)."""
    wall, shapes, _ = profile_step(step, runs)
    return wall, shapes


def _pass_summary(name: str, pass_: str, wall: float,
                  shapes: List[ConvShape]) -> str:
    conv_s = sum(s.seconds for s in shapes)
    gmacs = sum(s.gmacs * s.calls for s in shapes)
    return (f'{name}: {pass_} convolutions {conv_s:.3f} s of {wall:.3f} s '
            f'per step under the profiler ({100 * conv_s / wall:.0f}%), '
            f'{gmacs:.1f} GMAC at {gmacs / conv_s if conv_s else 0:.1f} '
            'GMAC/s')


def format_conv_profile(name: str, wall: float, shapes: List[ConvShape],
                        top: int, ops: List[OpTime] = ()) -> str:
    """A summary line per pass, the ``top`` slowest conv shapes of each
    pass as a table, and (``ops`` given) the ``top`` ops by self time."""
    lines = []
    for pass_ in PASSES:
        selected = [s for s in shapes if s.pass_ == pass_]
        if not selected and pass_ == 'backward':
            continue
        lines += [
            _pass_summary(name, pass_, wall, selected),
            f'  {"input":>20s} {"weight":>18s} {"stride":>6s} '
            f'{"groups":>6s} {"calls":>6s} {"ms/call":>8s} '
            f'{"GMAC/call":>9s} {"GMAC/s":>7s}'
        ]
        for s in selected[:top]:
            lines.append(
                f'  {"x".join(map(str, s.input_shape)):>20s} '
                f'{"x".join(map(str, s.weight_shape)):>18s} '
                f'{"x".join(map(str, s.stride)):>6s} {s.groups:6d} '
                f'{s.calls:6g} {1e3 * s.seconds / s.calls:8.2f} '
                f'{s.gmacs:9.3f} {s.gmac_per_second:7.1f}')
    if ops:
        lines.append(f'{name}: ops by self time (children excluded), '
                     'per step')
        for op in list(ops)[:top]:
            lines.append(f'  {op.name:44s} {op.calls:7g} calls '
                         f'{op.seconds:8.3f} s '
                         f'{100 * op.seconds / wall:5.1f}%')
    return '\n'.join(lines)

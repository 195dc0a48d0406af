"""What one convolution costs on this machine: the arithmetic floor of the
networks (``tools/conv_floor.py``).

For a few conv shapes taken from our models (and one large square conv)
this times, with the threads the models use:

- PyTorch float32 in both memory layouts (what our models and stock run),
  and bfloat16 (``--amp``'s autocast);
- the same conv as a one-node ONNX model in onnxruntime, float32 and int8
  (the QDQ quantization of ``tools/export_onnx.py --int8``);
- a large square matrix product (MKL's GEMM), float32 and bfloat16: the
  practical arithmetic peak of these cores, the rate no float32 network
  can beat without doing fewer multiplications;
- with ``ONEDNN_VERBOSE=1`` in a child process, what oneDNN executes for
  the PyTorch float32 conv: the implementation (``brg_conv_fwd``, ``jit``,
  Winograd would show as ``wino``), its algorithm, its own kernel time and
  the reorders (layout conversions of the input, output and weights) that
  PyTorch pays around it on every call.

GMAC/s per core per GHz (the nominal clock ``/proc/cpuinfo`` reports) says
how far a conv is from the vector units' peak: a direct float32 conv can
do at most as many MACs per cycle as the core has float32 FMA lanes (16 on
AVX-512 cores with two 256-bit FMA pipes such as AMD Zen 4, 32 with two
512-bit pipes); more than that means fewer multiplications than MACs
counted (Winograd) or a clock above the nominal one (turbo).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

from hrseg_plugin.utils.timing import median_seconds


@dataclass
class ConvCase:
    """One convolution: (N, C_in, H, W) input, C_out x C_in x k x k weight,
    stride, padding k // 2."""
    name: str
    n: int
    c_in: int
    h: int
    w: int
    c_out: int
    k: int
    stride: int = 1

    @property
    def gmacs(self) -> float:
        h_out = (self.h + 2 * (self.k // 2) - self.k) // self.stride + 1
        w_out = (self.w + 2 * (self.k // 2) - self.k) // self.stride + 1
        return self.n * self.c_out * h_out * w_out * self.c_in * \
            self.k**2 / 1e9


#: The shapes of ``tools/conv_floor.py`` (batch 1, 512x1024 input).
DEFAULT_CASES = [
    ConvCase('large 3x3 256->256 @128x256', 1, 256, 128, 256, 256, 3),
    ConvCase('OCR-W48 bottleneck 3x3 720->512 @128x256', 1, 720, 128, 256,
             512, 3),
    ConvCase('1x1 512->512 @128x256', 1, 512, 128, 256, 512, 1),
    ConvCase('HRNet-W48 branch 3x3 48->48 @128x256', 1, 48, 128, 256, 48,
             3),
    ConvCase('HRNet-W18 branch 3x3 18->18 @128x256', 1, 18, 128, 256, 18,
             3),
    ConvCase('ResNet-18 layer1 3x3 64->64 @128x256', 1, 64, 128, 256, 64,
             3),
    ConvCase('BiSeNet stem 7x7/2 3->64 @512x1024', 1, 3, 512, 1024, 64, 7,
             2),
]


def _tensors(case: ConvCase, channels_last: bool, dtype=torch.float32):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(case.n, case.c_in, case.h, case.w, generator=gen)
    w = torch.randn(case.c_out, case.c_in, case.k, case.k, generator=gen)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
        w = w.contiguous(memory_format=torch.channels_last)
    return x.to(dtype), w.to(dtype)


def time_torch(case: ConvCase, channels_last: bool, repeat: int,
               dtype=torch.float32) -> float:
    """Median seconds of the PyTorch conv (no grad)."""
    x, w = _tensors(case, channels_last, dtype)
    pad = case.k // 2
    with torch.no_grad():
        return median_seconds(
            lambda: F.conv2d(x, w, stride=case.stride, padding=pad), repeat)


def _one_conv_onnx(case: ConvCase, path: str) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    _, w = _tensors(case, False)
    pad = case.k // 2
    node = helper.make_node('Conv', ['image', 'w'], ['out'],
                            kernel_shape=[case.k, case.k],
                            strides=[case.stride] * 2, pads=[pad] * 4)
    graph = helper.make_graph(
        [node], 'conv',
        [helper.make_tensor_value_info(
            'image', TensorProto.FLOAT, [case.n, case.c_in, case.h, case.w])],
        [helper.make_tensor_value_info('out', TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w.numpy(), 'w')])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('',
                                                                        17)])
    onnx.save(model, path)


def time_onnxruntime(case: ConvCase, repeat: int) -> Dict[str, float]:
    """Median seconds of the conv in onnxruntime, float32 and int8 (QDQ,
    per-channel weights, calibrated on random inputs)."""
    from .onnx_export import onnx_session, run_session
    from .onnx_quantize import quantize_int8, random_batches
    x, _ = _tensors(case, False)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = os.path.join(tmp, 'f.onnx'), os.path.join(tmp, 'q.onnx')
        _one_conv_onnx(case, fp32)
        quantize_int8(fp32, int8, random_batches(
            (case.h, case.w), 2, case.n, channels=case.c_in))
        for name, path in (('float32', fp32), ('int8', int8)):
            session = onnx_session(path)
            out[name] = median_seconds(lambda: run_session(session, x),
                                       repeat)
    return out


_VERBOSE_CHILD = r'''
import sys, torch, torch.nn.functional as F
from hrseg_plugin.apis.conv_floor import ConvCase, _tensors
case = ConvCase(**__import__('json').loads(sys.argv[1]))
torch.set_num_threads(int(sys.argv[2]))
x, w = _tensors(case, sys.argv[3] == '1')
with torch.no_grad():
    for _ in range(4):
        print('@@call', flush=True)
        F.conv2d(x, w, stride=case.stride, padding=case.k // 2)
'''


def onednn_trace(case: ConvCase, channels_last: bool,
                 threads: Optional[int] = None) -> dict:
    """What oneDNN executes for the PyTorch float32 conv, from
    ``ONEDNN_VERBOSE=1`` in a child process (the last of 4 calls):
    ``implementation``, ``algorithm``, ``kernel_ms`` (the conv primitive's
    own time) and ``reorder_ms`` (the layout conversions around it)."""
    env = dict(os.environ, ONEDNN_VERBOSE='1')
    env['PYTHONPATH'] = os.pathsep.join(
        [p for p in sys.path if p] + [env.get('PYTHONPATH', '')])
    fields = {k: getattr(case, k) for k in case.__dataclass_fields__}
    proc = subprocess.run(
        [sys.executable, '-c', _VERBOSE_CHILD, json.dumps(fields),
         str(threads or torch.get_num_threads()),
         '1' if channels_last else '0'],
        capture_output=True, text=True, env=env, timeout=600)
    last = proc.stdout.split('@@call')[-1].splitlines()
    trace = dict(implementation='?', algorithm='?', kernel_ms=0.,
                 reorder_ms=0., reorders=0)
    for line in last:
        parts = line.split(',')
        if len(parts) < 6 or parts[2] != 'primitive' or parts[3] != 'exec':
            continue
        ms = float(parts[-1])
        if parts[5] == 'convolution':
            trace['implementation'] = parts[6]
            alg = re.search(r'alg:(\w+)', line)
            trace['algorithm'] = alg.group(1) if alg else '?'
            trace['kernel_ms'] += ms
        elif parts[5] == 'reorder':
            trace['reorder_ms'] += ms
            trace['reorders'] += 1
    return trace


def gemm_peak(repeat: int, size: int = 2048) -> Dict[str, float]:
    """GMAC/s of a ``size`` x ``size`` x ``size`` matrix product.

    Args:
        repeat (int): Timed calls (median).
        size (int): The matrices' side.

    Returns:
        dict: ``{'float32': GMAC/s, 'bfloat16': GMAC/s}``.
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen)
    b = torch.randn(size, size, generator=gen)
    out = {}
    for dtype in (torch.float32, torch.bfloat16):
        x, y = a.to(dtype), b.to(dtype)
        seconds = median_seconds(lambda: torch.mm(x, y), repeat)
        out[str(dtype).split('.')[-1]] = size**3 / 1e9 / seconds
    return out


def nominal_ghz() -> Optional[float]:
    """The clock /proc/cpuinfo reports (GHz), if any."""
    try:
        with open('/proc/cpuinfo') as f:
            mhz = [float(line.split(':')[1]) for line in f
                   if line.startswith('cpu MHz')]
        return mhz[0] / 1000 if mhz else None
    except OSError:
        return None


def measure(cases: List[ConvCase], repeat: int = 10, onnx: bool = True,
            trace: bool = True) -> List[dict]:
    """Time every case (see the module docstring); one dict per case."""
    rows = []
    for case in cases:
        row = dict(name=case.name, gmacs=case.gmacs,
                   torch_nchw=time_torch(case, False, repeat),
                   torch_nhwc=time_torch(case, True, repeat),
                   torch_bf16_nhwc=time_torch(case, True, repeat,
                                              torch.bfloat16))
        if onnx:
            ort = time_onnxruntime(case, repeat)
            row.update(ort_float32=ort['float32'], ort_int8=ort['int8'])
        if trace:
            row['onednn_nchw'] = onednn_trace(case, False)
            row['onednn_nhwc'] = onednn_trace(case, True)
        rows.append(row)
    return rows


def format_rows(rows: List[dict], threads: int,
                gemm: Optional[Dict[str, float]] = None) -> str:
    """A table: GMAC/s of each way to run each conv, the MACs per cycle per
    core at the nominal clock of the fastest float32 run, and what oneDNN
    ran; first, the GEMM peak (:func:`gemm_peak`) if given."""
    ghz = nominal_ghz()
    runs = [('torch_nchw', 'fp32 NCHW'), ('torch_nhwc', 'fp32 NHWC'),
            ('torch_bf16_nhwc', 'bf16 NHWC'), ('ort_float32', 'ORT fp32'),
            ('ort_int8', 'ORT int8')]
    runs = [r for r in runs if r[0] in rows[0]]
    head = f'{"conv":42s} {"GMAC":>6s} ' + ' '.join(
        f'{label:>10s}' for _, label in runs) + '  MAC/cycle/core'
    lines = [f'GMAC/s, median; {threads} threads; nominal clock '
             f'{ghz or "?"} GHz']
    if gemm:
        per = (f'{gemm["float32"] / threads / ghz:.1f} float32 MAC/cycle/'
               'core' if ghz else '')
        lines.append(f'GEMM peak (square torch.mm): float32 '
                     f'{gemm["float32"]:.1f}, bfloat16 '
                     f'{gemm["bfloat16"]:.1f} GMAC/s {per}')
    lines.append(head)
    for row in rows:
        rates = [row['gmacs'] / row[k] for k, _ in runs]
        best = max(row['gmacs'] / row[k] for k in ('torch_nchw',
                                                   'torch_nhwc'))
        per = f'{best / threads / ghz:.1f}' if ghz else '?'
        lines.append(f'{row["name"]:42s} {row["gmacs"]:6.2f} ' + ' '.join(
            f'{r:10.1f}' for r in rates) + f'  {per:>14s}')
    if 'onednn_nchw' in rows[0]:
        lines.append('oneDNN, float32 (ONEDNN_VERBOSE): implementation, '
                     'algorithm, kernel ms, reorders per call (ms)')
        for row in rows:
            for key, label in (('onednn_nchw', 'NCHW'),
                               ('onednn_nhwc', 'NHWC')):
                t = row[key]
                lines.append(
                    f'  {row["name"]:42s} {label}: {t["implementation"]}, '
                    f'{t["algorithm"]}, {t["kernel_ms"]:.1f} ms '
                    f'({row["gmacs"] / t["kernel_ms"] * 1e3:.1f} GMAC/s '
                    f'in the kernel), {t["reorders"]} reorders '
                    f'{t["reorder_ms"]:.1f} ms' if t['kernel_ms'] else
                    f'  {row["name"]:42s} {label}: no oneDNN conv seen')
    return '\n'.join(lines)

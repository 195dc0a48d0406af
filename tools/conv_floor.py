"""Measure this machine's convolution floor: GMAC/s of single convs in
PyTorch (float32 in both layouts, bfloat16) and onnxruntime (float32,
int8), and what oneDNN executes for them (``ONEDNN_VERBOSE``).

The shapes are those of our models at 512x1024 plus one large square conv
(``hrseg_plugin/apis/conv_floor.py``), and a large matrix product for the
practical peak of the cores. A network whose convolutions run near the
best of these rates cannot get much faster in that precision without doing
fewer MACs.

Examples::

    python tools/conv_floor.py
    python tools/conv_floor.py --repeat 20 --json floor.json
    python tools/conv_floor.py --no-onnx --no-trace   # PyTorch only
"""
import json

import torch

from hrseg_plugin.apis import docstring_parser, run_tool


def parse_args(argv=None):
    parser = docstring_parser(__doc__)
    parser.add_argument('--repeat', type=int, default=10,
                        help='timed calls per conv and way, median '
                        '(default: 10)')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch / onnxruntime threads (default: torch's "
                        'own)')
    parser.add_argument('--no-onnx', action='store_true',
                        help='skip the onnxruntime float32 / int8 runs')
    parser.add_argument('--no-trace', action='store_true',
                        help='skip the ONEDNN_VERBOSE child processes')
    parser.add_argument('--json', metavar='OUT',
                        help='also write the measurements to this file')
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error('--repeat must be >= 1')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from hrseg_plugin.apis.conv_floor import (DEFAULT_CASES, format_rows,
                                              gemm_peak, measure)
    if args.threads:
        torch.set_num_threads(args.threads)
    gemm = gemm_peak(args.repeat)
    rows = measure(DEFAULT_CASES, args.repeat, not args.no_onnx,
                   not args.no_trace)
    print(format_rows(rows, torch.get_num_threads(), gemm))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(threads=torch.get_num_threads(), gemm_peak=gemm,
                           rows=rows), f, indent=2)
    return 0


if __name__ == '__main__':
    run_tool(main)

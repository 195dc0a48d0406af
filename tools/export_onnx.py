"""Export a trained model to ONNX, check it with onnxruntime against
PyTorch, and time both.

The model is built from CONFIG with CHECKPOINT's weights by mmseg's
``init_model`` (mmdet's ``init_detector`` for detectors), in eval mode: the
BatchNorms are folded into the convs. Segmentors export whole: the input
``image`` is the normalised batch (the config's data preprocessor output:
RGB, mean / std subtracted, ``N x 3 x H x W``), the output ``logits`` the
class scores at the input size (``--no-resize``: at the decode head's
resolution). Detectors export their backbone + neck (``--part backbone``);
their heads need NMS / RoIAlign, which is mmdeploy's business.

After writing the file the tool runs onnxruntime and PyTorch on the same
random batch and fails (exit status 1) when they differ by more than
``--tolerance`` (relative), then reports the median latency of each.

Examples::

    python tools/export_onnx.py configs/hrnet_w18_ocr.py ocr.pth \\
        --shape 512 1024 --out hrnet_w18_ocr.onnx
    python tools/export_onnx.py configs/faster_rcnn_hrnetv2p_w18.py det.pth \\
        --shape 800 1216 --part backbone
"""
import copy
import os.path as osp
import sys

import torch

from hrseg_plugin.apis import (add_cfg_options_arg, check_file,
                               check_output_file, check_shape_arg,
                               docstring_parser, run_tool)


def parse_args(argv=None):
    parser = docstring_parser(__doc__)
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--shape', type=int, nargs=2, required=True,
                        metavar=('H', 'W'),
                        help='input size the graph is traced at (fixed)')
    parser.add_argument('--batch', type=int, default=1,
                        help='images per call (fixed; default: 1)')
    parser.add_argument('--out', metavar='FILE',
                        help='ONNX file to write (default: the checkpoint '
                        'name with .onnx)')
    parser.add_argument('--part', choices=('model', 'backbone'),
                        default='model',
                        help='model: image -> logits (segmentors); backbone: '
                        'image -> backbone + neck features (default: model)')
    parser.add_argument('--no-resize', action='store_true',
                        help='logits at the decode head resolution, not '
                        'resized to the input size')
    parser.add_argument('--opset', type=int, default=17,
                        help='ONNX opset (default: 17)')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest relative difference accepted between '
                        'onnxruntime and PyTorch (default: 1e-4)')
    parser.add_argument('--repeat', type=int, default=5,
                        help='timed runs of each for the latency (0: do not '
                        'time; default: 5)')
    add_cfg_options_arg(parser)
    args = parser.parse_args(argv)
    check_shape_arg(parser, args.shape)
    if args.batch < 1 or args.repeat < 0:
        parser.error('--batch must be >= 1, --repeat >= 0')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from hrseg_plugin.apis import (init_model_from_config, load_config,
                                   onnx_export as ox)

    check_file(args.checkpoint, 'checkpoint file')
    out = args.out or osp.splitext(args.checkpoint)[0] + '.onnx'
    check_output_file(out, '--out')  # before the export work
    cfg = load_config(args.config, args.cfg_options)
    model = init_model_from_config(cfg, args.checkpoint, 'cpu')
    resize = not args.no_resize
    names = ox.export_onnx(model, out, args.shape, args.batch, args.part,
                           resize, args.opset)
    print(f'wrote {out} (input image {args.batch}x3x{args.shape[0]}x'
          f'{args.shape[1]}; outputs {", ".join(names)})')

    session = ox.onnx_session(out)
    x = torch.randn(args.batch, 3, *args.shape,
                    generator=torch.Generator().manual_seed(0))
    ref = ox.torch_outputs(model, x, args.part, resize)
    got = ox.run_session(session, x)
    diff = ox.max_rel_error(got, ref)
    print(f'onnxruntime vs PyTorch: max relative difference {diff:.2e} '
          f'(tolerance {args.tolerance:.0e})')
    if not diff <= args.tolerance:
        # An ill-conditioned network (random weights, huge logits feeding
        # OCR's softmax) turns float32 rounding into differences above the
        # tolerance; then the judge is PyTorch in float64: the export is
        # good when onnxruntime is that close to it.
        exact = ox.torch_outputs(
            copy.deepcopy(model).double(), x.double(), args.part, resize)
        diff = ox.max_rel_error(got, exact)
        own = ox.max_rel_error(ref, exact)
        print(f'against PyTorch in float64: onnxruntime {diff:.2e}, '
              f'PyTorch float32 {own:.2e}')
    if not diff <= args.tolerance:
        print(f'export_onnx.py: error: {out} does not reproduce the PyTorch '
              'outputs', file=sys.stderr)
        return 1
    if args.repeat:
        t_ort = ox.median_latency(lambda: ox.run_session(session, x),
                                  args.repeat)
        t_pt = ox.median_latency(
            lambda: ox.torch_outputs(model, x, args.part, resize),
            args.repeat)
        print(f'latency, median of {args.repeat}, {torch.get_num_threads()}'
              f' threads: onnxruntime {t_ort:.3f} s, PyTorch {t_pt:.3f} s')
    return 0


if __name__ == '__main__':
    from hrseg_plugin.apis.onnx_export import ExportError
    run_tool(main, errors=(ExportError, ))

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

``--int8 --calib N`` writes a statically quantized model instead
(onnxruntime's QDQ format, int8 weights per output channel, uint8
activations calibrated on N images of the config's train split through its
test pipeline; OCR's attention MatMul / Softmax stay float, see
``hrseg_plugin/apis/onnx_quantize.py``): the float export is checked as
above, quantized, and the tool reports the file sizes, the share of pixels
whose class the int8 model keeps on the calibration images, and the
latency of int8 against PyTorch. ``tools/test.py CONFIG FILE.onnx`` gives
its mIoU.

Examples::

    python tools/export_onnx.py configs/hrnet_w18_ocr.py ocr.pth \\
        --shape 512 1024 --out hrnet_w18_ocr.onnx
    python tools/export_onnx.py configs/faster_rcnn_hrnetv2p_w18.py det.pth \\
        --shape 800 1216 --part backbone
    python tools/export_onnx.py configs/demo/bisenet_r18.py demo.pth \\
        --shape 256 512 --int8 --calib 32   # writes demo_int8.onnx
"""
import copy
import os.path as osp
import sys
import tempfile

import torch

from hrseg_plugin.apis import (add_cfg_options_arg, check_file,
                               check_output_file, check_shape_arg,
                               docstring_parser, run_tool)
from hrseg_plugin.utils.timing import median_seconds


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
    parser.add_argument('--int8', action='store_true',
                        help='write a statically quantized int8 model (QDQ, '
                        'per-channel weights; default --out: the checkpoint '
                        'name with _int8.onnx)')
    parser.add_argument('--calib', type=int, default=32, metavar='N',
                        help='--int8: calibrate the activation ranges on N '
                        'images (default: 32)')
    parser.add_argument('--calib-split', choices=('train', 'val'),
                        default='train',
                        help='--int8: the split the calibration images come '
                        'from, through the test pipeline (default: train)')
    add_cfg_options_arg(parser)
    args = parser.parse_args(argv)
    check_shape_arg(parser, args.shape)
    if args.batch < 1 or args.repeat < 0:
        parser.error('--batch must be >= 1, --repeat >= 0')
    if args.int8 and (args.part != 'model' or args.calib < 1):
        parser.error('--int8 quantizes whole segmentors (--part model) and '
                     'needs --calib >= 1')
    return args


def _quantize(cfg, model, float_out, out, args):
    """``--int8``: quantize the checked float export into ``out``, report
    and return an onnxruntime session of it."""
    from hrseg_plugin.apis import onnx_export as ox
    from hrseg_plugin.apis.onnx_quantize import export_int8
    r = export_int8(cfg, model, float_out, out, args.shape, args.batch,
                    args.calib, args.calib_split)
    print(f'wrote {out}: int8 (QDQ, per-channel weights), activations '
          f'calibrated on {r["images"]} {args.calib_split} images; in float: '
          f'{", ".join(r["float_op_types"]) or "nothing"}; '
          f'{r["int8_mib"]:.1f} MiB (float32: {r["float_mib"]:.1f} MiB)')
    print(f'int8 vs float32 on the calibration images: '
          f'{100 * r["agreement"]:.2f}% of pixels keep their class, logits '
          f'differ by {r["rel_difference"]:.2e} (relative); '
          'tools/test.py CONFIG FILE.onnx gives the mIoU')
    return ox.onnx_session(out)


def main(argv=None) -> int:
    args = parse_args(argv)
    from hrseg_plugin.apis import (init_model_from_config, load_config,
                                   onnx_export as ox)

    check_file(args.checkpoint, 'checkpoint file')
    out = args.out or osp.splitext(args.checkpoint)[0] + (
        '_int8.onnx' if args.int8 else '.onnx')
    check_output_file(out, '--out')  # before the export work
    cfg = load_config(args.config, args.cfg_options)
    model = init_model_from_config(cfg, args.checkpoint, 'cpu')
    resize = not args.no_resize
    tmp = tempfile.TemporaryDirectory() if args.int8 else None
    float_out = osp.join(tmp.name, 'float32.onnx') if args.int8 else out
    names = ox.export_onnx(model, float_out, args.shape, args.batch,
                           args.part, resize, args.opset)
    if not args.int8:
        print(f'wrote {out} (input image {args.batch}x3x{args.shape[0]}x'
              f'{args.shape[1]}; outputs {", ".join(names)})')

    session = ox.onnx_session(float_out)
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
    if args.int8:
        session = _quantize(cfg, model, float_out, out, args)
    if args.repeat:
        t_ort = median_seconds(lambda: ox.run_session(session, x),
                               args.repeat, warmup=1)
        t_pt = median_seconds(
            lambda: ox.torch_outputs(model, x, args.part, resize),
            args.repeat, warmup=1)
        what = 'onnxruntime int8' if args.int8 else 'onnxruntime'
        print(f'latency, median of {args.repeat}, {torch.get_num_threads()}'
              f' threads: {what} {t_ort:.3f} s, PyTorch {t_pt:.3f} s')
    return 0


if __name__ == '__main__':
    from hrseg_plugin.apis.onnx_export import ExportError
    run_tool(main, errors=(ExportError, ))

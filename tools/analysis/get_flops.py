"""MACs and parameters of a config's model at an input size, with a
per-module table, for mmseg and mmdet configs alike.

Stock ``mmseg/.mim/tools/analysis_tools/get_flops.py`` fails with this stack
on cascade models (``'list' object has no attribute 'type'`` for OCRNet's
two decode heads) and on single-head models (mmengine 0.10.7 refuses its
``input_shape`` together with ``inputs``), stock configs included. This tool
traces the network part the benchmark times (``--part model``: image to
logits / raw head outputs; ``backbone``: backbone + neck) with mmengine's
``FlopAnalyzer`` (which counts one multiply-add as one "flop": the figures
are MACs). Stock mmdet's ``get_flops.py`` works on our detection configs
too; it measures on dataset images instead of a fixed size.

Examples::

    python tools/analysis/get_flops.py configs/hrnet_w18_ocr.py --shape 512 1024
    python tools/analysis/get_flops.py configs/faster_rcnn_hrnetv2p_w18.py --shape 800 1216 --part backbone
"""
from hrseg_plugin.apis import (ToolError, add_cfg_options_arg,
                               docstring_parser, run_tool)


def parse_args(argv=None):
    parser = docstring_parser(__doc__)
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs=2, default=(512, 1024),
                        metavar=('H', 'W'),
                        help='input size (default: 512 1024)')
    parser.add_argument('--part', choices=('model', 'backbone'),
                        default='model',
                        help='the whole network or backbone + neck '
                        '(default: model)')
    parser.add_argument('--depth', type=int, default=2,
                        help='module depth of the table (default: 2)')
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if min(args.shape) < 1:
        raise ToolError(f'--shape must be two positive sizes, got '
                        f'{args.shape}')
    import torch
    from mmengine.analysis import FlopAnalyzer
    from mmengine.analysis.print_helper import complexity_stats_table

    from hrseg_plugin.apis.benchmark import (build_model, make_inputs,
                                             network_part, part_parameters)
    model = build_model(args.config, args.cfg_options).eval()
    data = make_inputs(model, 1, args.shape)
    target = network_part(model, args.part)
    with torch.no_grad():
        flops = FlopAnalyzer(target, (data['inputs'], ))
        flops.unsupported_ops_warnings(False)
        flops.uncalled_modules_warnings(False)
        table = complexity_stats_table(flops, max_depth=args.depth,
                                       show_param_shapes=False)
        total = flops.total()
    print(table)
    print(f'input shape: 1x3x{args.shape[0]}x{args.shape[1]} ({args.part})')
    print(f'GMACs: {total / 1e9:.3f}')
    print(f'parameters: {part_parameters(model, args.part):.3f} M')


if __name__ == '__main__':
    run_tool(main)

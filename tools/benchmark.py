"""Benchmark a config's model: latency, images/s, peak memory, GMACs; with
``--compare-stock``, side by side with its stock mmseg / mmdet / mmpose /
mmpretrain twin.

The stock twin is the config's ``stock_equivalent`` field (a stock config
such as ``'mmseg::ocrnet/ocrnet_hr18_4xb2-80k_cityscapes-512x1024.py'``)
or ``--stock-config``. Both models get the same weights: the stock one is
randomised and converted into ours with the ``--from`` converter of the
config's ``default_scope``; their outputs must agree (``--tolerance``,
relative) before anything is timed. Runs are interleaved (ours, stock,
stock, ours, ...) and the medians are reported, with the ratio stock / ours
(> 1: ours is faster).

Examples::

    python tools/benchmark.py configs/hrnet_w18_ocr.py --shape 512 1024 \\
        --compare-stock
    python tools/benchmark.py configs/hrnet_w18_ocr.py --mode train --batch 2
    python tools/benchmark.py configs/faster_rcnn_hrnetv2p_w18.py \\
        --shape 800 1216 --part backbone --compare-stock --json out.json
    python tools/benchmark.py configs/bisenet_r18.py --compare-stock --onnx
    python tools/benchmark.py configs/bisenet_r18.py --compare-stock --onnx \\
        --int8   # + the int8 model (onnxruntime static quantization)
    python tools/benchmark.py configs/pose_hrnet_w32_coco_256x192.py \\
        --shape 256 192 --batch 32 --compare-stock
    python tools/benchmark.py configs/cls_hrnet_w18_in1k.py \\
        --shape 224 224 --compare-stock
"""
import json
import os.path as osp
import tempfile

import torch

from hrseg_plugin.apis import (add_cfg_options_arg, check_shape_arg,
                               docstring_parser, run_tool)


def parse_args(argv=None):
    parser = docstring_parser(__doc__)
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--shape', type=int, nargs=2, default=(512, 1024),
        metavar=('H', 'W'), help='input size (default: 512 1024)')
    parser.add_argument('--batch', type=int, default=1,
                        help='images per step (default: 1)')
    parser.add_argument('--mode', choices=('infer', 'train'),
                        default='infer',
                        help='infer: no-grad forward; train: forward, loss, '
                        'backward and an optimizer step (default: infer)')
    parser.add_argument(
        '--part', choices=('model', 'backbone'), default='model',
        help='infer the whole network or only backbone + neck '
        '(extract_feat) (default: model)')
    parser.add_argument('--compare-stock', action='store_true',
                        help='also run the stock twin with the same weights')
    parser.add_argument('--stock-config',
                        help='the stock twin (default: the config\'s '
                        'stock_equivalent field)')
    parser.add_argument('--repeat', type=int, default=5,
                        help='timed runs per model (default: 5)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed runs per model first (default: 1)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: torch\'s own)')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest relative output difference accepted '
                        'between ours and stock (default: 1e-4)')
    parser.add_argument('--amp', action='store_true',
                        help='time every model under mixed precision '
                        '(bfloat16 autocast on CPU, float16 on CUDA); the '
                        'outputs are compared in float32 first')
    parser.add_argument('--compile', action='store_true',
                        help='time our model through torch.compile (its '
                        'compilation happens in the warm-up runs)')
    parser.add_argument('--onnx', action='store_true',
                        help='also export our model to ONNX (what the timed '
                        'step runs) and time it in onnxruntime (infer only)')
    parser.add_argument('--int8', action='store_true',
                        help='with --onnx: also quantize the export to int8 '
                        '(tools/export_onnx.py --int8, calibrated on '
                        '--calib random batches) and time it')
    parser.add_argument('--calib', type=int, default=4, metavar='N',
                        help='--int8: calibration batches (default: 4)')
    parser.add_argument('--profile', type=int, default=0, metavar='N',
                        help='after timing, run each model twice under the '
                        'torch profiler and print its convolutions (forward; '
                        'with --mode train backward too, and the N ops '
                        'taking the most self time): their share of the '
                        'step, their GMAC/s and the N slowest conv shapes')
    parser.add_argument('--no-memory', action='store_true',
                        help='skip the peak-memory runs (each needs a fresh '
                        'process)')
    parser.add_argument('--json', metavar='OUT',
                        help='also write the results to this JSON file')
    add_cfg_options_arg(parser)
    args = parser.parse_args(argv)
    check_shape_arg(parser, args.shape)
    if args.onnx and args.mode != 'infer':
        parser.error('--onnx times inference only (--mode infer)')
    if args.int8 and not (args.onnx and args.part == 'model'):
        parser.error('--int8 needs --onnx and --part model')
    if args.repeat < 1 or args.batch < 1 or args.warmup < 0 \
            or args.profile < 0:
        parser.error('--repeat and --batch must be >= 1, --warmup and '
                     '--profile >= 0')
    return args


def _onnx_step(model, data, args, path):
    """Export ``model`` as the timed step runs it (``mode='tensor'``, or
    backbone + neck), check onnxruntime against PyTorch and return (step,
    Timing, relative difference)."""
    from hrseg_plugin.apis import benchmark as bm
    from hrseg_plugin.apis import onnx_export as ox
    ox.export_onnx(model, path, args.shape, args.batch,
                   'model' if args.part == 'model' else 'backbone',
                   resize=False)
    session = ox.onnx_session(path)
    x = data['inputs']
    diff = ox.max_rel_error(
        ox.run_session(session, x),
        ox.torch_outputs(model, x, args.part, resize=False))
    print(f'onnx: max relative difference onnxruntime vs ours {diff:.2e}')
    return (lambda: ox.run_session(session, x)), \
        bm.Timing('onnx', f'{args.config} (onnxruntime)'), diff


def main(argv=None) -> int:
    args = parse_args(argv)
    from hrseg_plugin.apis import benchmark as bm
    from hrseg_plugin.utils import load_config

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    scope = cfg.get('default_scope', 'mmseg')
    configs = {'ours': (args.config, args.cfg_options)}
    if args.compare_stock:
        stock = args.stock_config or cfg.get('stock_equivalent')
        if not stock:
            raise bm.BenchmarkError(
                f'{args.config} names no stock twin: add a '
                "stock_equivalent = 'mmseg::...' field to it or pass "
                '--stock-config')
        configs['stock'] = (stock, None)

    models = {n: bm.random_model(c, args.part, args.shape, o)
              for n, (c, o) in configs.items()}
    if 'stock' in models:
        bm.load_stock_weights(models['ours'], models['stock'], scope)
    data = bm.make_inputs(models['ours'], args.batch, args.shape)

    results = {}
    for name, model in models.items():
        model.eval()
        results[name] = bm.Timing(name, configs[name][0],
                                  **bm.count_complexity(model, data,
                                                        args.part))
    agreement = None
    if 'stock' in models:
        agreement = bm.max_rel_error(
            bm.network_outputs(models['ours'], data, args.part),
            bm.network_outputs(models['stock'], data, args.part))
        print(f'outputs: max relative difference ours vs stock '
              f'{agreement:.2e} (tolerance {args.tolerance:.0e})')
        if not agreement <= args.tolerance:
            raise bm.BenchmarkError(
                f'ours and stock disagree ({agreement:.2e} > '
                f'{args.tolerance:.0e}): not timing different models')

    steps = {n: bm.make_step(m, data, args.mode, args.part, args.amp,
                             args.compile and n == 'ours')
             for n, m in models.items()}
    if args.onnx:
        tmp = tempfile.TemporaryDirectory()
        steps['onnx'], results['onnx'], onnx_diff = _onnx_step(
            models['ours'], data, args, osp.join(tmp.name, 'ours.onnx'))
        configs['onnx'] = configs['ours']
        results['onnx'].gmacs = results['ours'].gmacs  # the same network
        results['onnx'].params_m = results['ours'].params_m
        if args.int8:
            from hrseg_plugin.apis.onnx_quantize import int8_benchmark_step
            steps['int8'], int8_agreement = int8_benchmark_step(
                osp.join(tmp.name, 'ours.onnx'),
                osp.join(tmp.name, 'ours_int8.onnx'), data['inputs'],
                args.calib)
            results['int8'] = bm.Timing(
                'int8', f'{args.config} (onnxruntime int8)',
                gmacs=results['ours'].gmacs,
                params_m=results['ours'].params_m)
            configs['int8'] = configs['ours']
    for name, secs in bm.time_interleaved(steps, args.warmup,
                                          args.repeat).items():
        results[name].seconds = secs
    profiles = []
    if args.profile:
        from hrseg_plugin.apis.conv_profile import (format_conv_profile,
                                                    profile_step)
        for name in models:
            wall, shapes, ops = profile_step(steps[name])
            profiles.append(format_conv_profile(
                name, wall, shapes, args.profile,
                ops if args.mode == 'train' else ()))
    del models, steps
    if not args.no_memory:
        for name, (c, o) in configs.items():
            if name in ('onnx', 'int8'):  # onnxruntime: no torch step
                continue
            results[name].peak_rss_mib = bm.measure_peak_memory(
                c, args.mode, args.batch, args.shape, args.part, o, args.amp)

    what = f'{args.mode} ({args.part}), batch {args.batch}, ' \
        f'{args.shape[0]}x{args.shape[1]}' + \
        (', AMP (autocast)' if args.amp else '') + \
        (', ours through torch.compile' if args.compile else '')
    print(f'\n{what}; {args.repeat} timed runs each, medians; '
          f'{torch.get_num_threads()} threads')
    print(f'{"model":6s} {"median s":>9s} {"img/s":>8s} {"GMACs":>8s} '
          f'{"params M":>9s} {"peak RSS MiB":>13s}  config')
    for r in results.values():
        gmacs = f'{r.gmacs:8.1f}' if r.gmacs is not None else f'{"-":>8s}'
        rss = f'{r.peak_rss_mib:13.0f}' if r.peak_rss_mib else f'{"-":>13s}'
        print(f'{r.name:6s} {r.median:9.3f} '
              f'{r.images_per_second(args.batch):8.2f} {gmacs} '
              f'{r.params_m:9.2f} {rss}  {r.config}')
    for text in profiles:
        print(text)
    ratio = None
    if 'stock' in results:
        ratio = results['stock'].median / results['ours'].median
        print(f'speed-up (stock median / ours median): {ratio:.2f}x')
    if 'onnx' in results:
        speed = results['ours'].median / results['onnx'].median
        print(f'onnxruntime: {speed:.2f}x PyTorch (ours); outputs differ '
              f'by {onnx_diff:.2e}')
    if 'int8' in results:
        vs = [f'{results[n].median / results["int8"].median:.2f}x {n}'
              for n in ('ours', 'stock', 'onnx') if n in results]
        print(f'int8 (onnxruntime) speed-up over {", ".join(vs)}; the '
              'arg-max class of '
              f'{100 * int8_agreement:.1f}% of the pixels is ours (random '
              'weights: tools/test.py CONFIG MODEL.onnx measures accuracy)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(
                config=args.config, mode=args.mode, part=args.part,
                amp=args.amp, compile=args.compile,
                batch=args.batch, shape=list(args.shape),
                environment=bm.describe_environment(),
                max_rel_difference=agreement, speedup=ratio,
                onnx_rel_difference=onnx_diff if args.onnx else None,
                int8_agreement=int8_agreement if args.int8 else None,
                results={n: r.summary(args.batch)
                         for n, r in results.items()}), f, indent=2)
    return 0


if __name__ == '__main__':
    from hrseg_plugin.apis.benchmark import BenchmarkError
    from hrseg_plugin.converters import ConversionError
    run_tool(main, errors=(BenchmarkError, ConversionError))

"""Evaluate a checkpoint of an MMSegmentation or MMDetection config.

Runs mmengine ``Runner.test()`` with the config's ``test_dataloader`` and
``test_evaluator`` (e.g. ``IoUMetric`` -> mIoU for segmentation,
``CocoMetric`` -> coco/bbox_mAP for detection), prints the metrics and, with
``--out DIR``, writes them to ``DIR/metrics.json``. The library is chosen by
the config's ``default_scope`` ('mmseg' or 'mmdet').

Examples::

    python tools/test.py CONFIG work_dirs/run1/iter_80000.pth
    python tools/test.py CONFIG CKPT --out results/   # results/metrics.json
    python tools/test.py CONFIG CKPT --show-dir painted/
"""
import argparse

from hrseg_plugin.apis import (CHECKPOINT_TRUST_HELP, METRICS_FILE,
                               add_cfg_options_arg, add_launcher_args,
                               build_runner, check_built_model,
                               check_data_folders, check_file,
                               check_test_config, dump_metrics,
                               enable_show_dir, export_local_rank,
                               format_metrics, init_distributed,
                               is_main_process, load_config, run_tool,
                               setup_cpu_distributed, setup_runtime)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test (evaluate) a checkpoint of an mmseg or mmdet '
        'config with its test_dataloader and test_evaluator.',
        epilog=CHECKPOINT_TRUST_HELP)
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the dir for the test logs (default: the config\'s work_dir, '
        'else ./work_dirs/<config file name>); mmengine also writes the '
        'metrics to <work_dir>/<timestamp>/<timestamp>.json')
    parser.add_argument(
        '--out',
        metavar='DIR',
        help=f'write the metrics as JSON to DIR/{METRICS_FILE} (a flat '
        '{"metric name": value} object; NaN is written as null)')
    parser.add_argument(
        '--show-dir',
        metavar='DIR',
        help='paint the predictions of every test image into DIR '
        '(relative to the current directory): mmseg writes them to '
        'DIR/vis_data/vis_image/, mmdet to DIR/. Needs a visualization hook '
        'in default_hooks')
    add_cfg_options_arg(parser)
    add_launcher_args(parser)
    args = parser.parse_args(argv)
    export_local_rank(args)
    return args


def main(argv=None):
    args = parse_args(argv)
    check_file(args.checkpoint, 'checkpoint file')
    cfg = load_config(args.config, args.cfg_options)
    check_test_config(cfg)
    setup_runtime(cfg, args.config, args.work_dir, args.launcher)
    cfg.load_from = args.checkpoint
    # Testing only: make sure a `resume=True` in the config does not look
    # for the latest checkpoint of the work dir instead of CHECKPOINT.
    cfg.resume = False
    if args.show_dir:
        enable_show_dir(cfg, args.show_dir)

    check_data_folders(cfg, ('test_dataloader', ))
    setup_cpu_distributed(cfg, args.launcher)
    init_distributed(cfg, args.launcher)
    runner = build_runner(cfg)
    check_built_model(runner)
    metrics = runner.test()
    if not is_main_process():  # distributed: rank 0 reports
        return metrics

    if metrics:
        print('Test metrics:')
        print(format_metrics(metrics))
    else:
        print('Test metrics: none, the evaluator returned no metrics (see '
              'its messages above)')
    if args.out:
        path = dump_metrics(metrics, args.out)
        print(f'Metrics written to {path}')
    return metrics


if __name__ == '__main__':
    run_tool(main)

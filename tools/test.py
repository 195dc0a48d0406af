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
from hrseg_plugin.apis import (METRICS_FILE, check_checkpoint_fits,
                               check_data_folders, check_file,
                               check_test_config, config_checkpoint_parser,
                               dump_metrics, enable_show_dir, format_metrics,
                               is_main_process, load_config, make_runner,
                               parse_runner_args, run_tool, setup_runtime,
                               use_checked_image_loader)


def parse_args(argv=None):
    parser = config_checkpoint_parser(
        'Test (evaluate) a checkpoint of an mmseg or mmdet config with its '
        'test_dataloader and test_evaluator.', 'test config file path')
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
    return parse_runner_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    check_file(args.checkpoint, 'checkpoint file')
    cfg = load_config(args.config, args.cfg_options)
    check_test_config(cfg)
    use_checked_image_loader(cfg)
    setup_runtime(cfg, args.config, args.work_dir, args.launcher)
    cfg.load_from = args.checkpoint
    # Testing only: make sure a `resume=True` in the config does not look
    # for the latest checkpoint of the work dir instead of CHECKPOINT.
    cfg.resume = False
    if args.show_dir:
        enable_show_dir(cfg, args.show_dir)

    check_data_folders(cfg, ('test_dataloader', ))
    runner = make_runner(cfg, args.launcher)
    # a checkpoint of another model would load in part, silently
    check_checkpoint_fits(args.checkpoint, runner.model)
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

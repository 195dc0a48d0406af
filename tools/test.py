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
import importlib
import importlib.util
import os.path as osp
import sys


def _load_runner_utils():
    """Load ``hrseg_plugin/apis/runner_utils.py`` (the code the tools share)
    from this checkout without running ``hrseg_plugin/__init__.py``: that
    imports and registers every project model, which stock configs do not
    need and which configs get through their ``custom_imports``."""
    name = 'hrseg_plugin.apis.runner_utils'
    if name in sys.modules:
        return sys.modules[name]
    path = osp.join(
        osp.dirname(osp.dirname(osp.abspath(__file__))), *name.split('.'))
    if not osp.isfile(path + '.py'):  # tools copied elsewhere: installed one
        return importlib.import_module(name)
    spec = importlib.util.spec_from_file_location(name, path + '.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ru = _load_runner_utils()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test (evaluate) a checkpoint of an mmseg or mmdet '
        'config with its test_dataloader and test_evaluator.',
        epilog=ru.CHECKPOINT_TRUST_HELP)
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
        help=f'write the metrics as JSON to DIR/{ru.METRICS_FILE} (a flat '
        '{"metric name": value} object; NaN is written as null)')
    parser.add_argument(
        '--show-dir',
        metavar='DIR',
        help='paint the predictions of every test image into DIR '
        '(relative to the current directory): mmseg writes them to '
        'DIR/vis_data/vis_image/, mmdet to DIR/. Needs a visualization hook '
        'in default_hooks')
    ru.add_cfg_options_arg(parser)
    ru.add_launcher_args(parser)
    args = parser.parse_args(argv)
    ru.export_local_rank(args)
    return args


def main(argv=None):
    args = parse_args(argv)
    ru.check_file(args.checkpoint, 'checkpoint file')
    cfg = ru.load_config(args.config, args.cfg_options)
    ru.check_test_config(cfg)
    ru.setup_runtime(cfg, args.config, args.work_dir, args.launcher)
    cfg.load_from = args.checkpoint
    # Testing only: make sure a `resume=True` in the config does not look
    # for the latest checkpoint of the work dir instead of CHECKPOINT.
    cfg.resume = False
    if args.show_dir:
        ru.enable_show_dir(cfg, args.show_dir)

    ru.check_data_folders(cfg, ('test_dataloader', ))
    ru.setup_cpu_distributed(cfg, args.launcher)
    ru.init_distributed(cfg, args.launcher)
    runner = ru.build_runner(cfg)
    ru.check_built_model(runner)
    metrics = runner.test()
    if not ru.is_main_process():  # distributed: rank 0 reports
        return metrics

    if metrics:
        print('Test metrics:')
        print(ru.format_metrics(metrics))
    else:
        print('Test metrics: none, the evaluator returned no metrics (see '
              'its messages above)')
    if args.out:
        path = ru.dump_metrics(metrics, args.out)
        print(f'Metrics written to {path}')
    return metrics


if __name__ == '__main__':
    ru.run_tool(main)

"""Train an MMSegmentation or MMDetection config.

The library is chosen by the config's ``default_scope`` ('mmseg' or
'mmdet'); everything else follows the stock ``tools/train.py`` of mmseg 1.x /
mmdet 3.x. Project modules are registered by the config's
``custom_imports=dict(imports=['hrseg_plugin'], ...)``.

Examples::

    python tools/train.py configs/hrnet_w18_ocr.py
    python tools/train.py CONFIG --work-dir work_dirs/run1 --amp
    python tools/train.py CONFIG --resume                # latest checkpoint
    python tools/train.py CONFIG --resume work_dirs/run1/iter_4000.pth
    python tools/train.py CONFIG --cfg-options train_cfg.max_iters=1000
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
        description='Train a segmentor (default_scope=mmseg) or a detector '
        '(default_scope=mmdet) with mmengine.',
        epilog='Checkpoints, logs and the scalars '
        '(<work_dir>/<timestamp>/vis_data/scalars.json) are written to the '
        'work dir. ' + ru.CHECKPOINT_TRUST_HELP)
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='the dir to save logs and models (default: the config\'s '
        'work_dir, else ./work_dirs/<config file name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        metavar='CKPT',
        help='resume training (model, optimizer, scheduler, iteration). '
        'Without CKPT: from the latest checkpoint in the work dir (if there '
        'is none, training starts from scratch); with CKPT: from that '
        'checkpoint file. Put it after CONFIG.')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic mixed precision training. On a GPU: '
        'mmengine AmpOptimWrapper with dynamic loss scaling (float16). On a '
        'CPU-only machine, where mmengine 0.10 AmpOptimWrapper refuses to '
        f'run: {ru.CPU_AMP_OPTIM_WRAPPER}, i.e. the forward pass and loss '
        'under torch.autocast("cpu", dtype=torch.bfloat16) with no loss '
        'scaling; weights, gradients and optimizer state stay float32. '
        'Needs optim_wrapper.type=OptimWrapper in the config.')
    ru.add_cfg_options_arg(parser)
    ru.add_launcher_args(parser)
    args = parser.parse_args(argv)
    ru.export_local_rank(args)
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = ru.load_config(args.config, args.cfg_options)
    ru.setup_runtime(cfg, args.config, args.work_dir, args.launcher)
    if args.amp:
        ru.enable_amp(cfg)
    ru.apply_resume(cfg, args.resume)
    ru.check_train_data_folders(cfg)
    ru.setup_cpu_distributed(cfg, args.launcher)
    ru.init_distributed(cfg, args.launcher)
    runner = ru.build_runner(cfg)
    ru.check_built_model(runner)
    try:
        runner.train()
    except FloatingPointError as exc:
        # hrseg_plugin.NonFiniteLossHook: NaN/Inf loss, stopped before the
        # update; one line, as the other errors of the tools
        raise ru.ToolError(f'training stopped: {exc}') from exc


if __name__ == '__main__':
    ru.run_tool(main)

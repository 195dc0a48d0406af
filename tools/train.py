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

from hrseg_plugin.apis import (CHECKPOINT_TRUST_HELP, CPU_AMP_OPTIM_WRAPPER,
                               ToolError, apply_resume,
                               check_train_data_folders,
                               check_training_checkpoint, enable_amp,
                               explained_build_errors, load_config,
                               lock_work_dir, make_runner, parse_runner_args,
                               run_tool, setup_runtime)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a segmentor (default_scope=mmseg) or a detector '
        '(default_scope=mmdet) with mmengine.',
        epilog='Checkpoints, logs and the scalars '
        '(<work_dir>/<timestamp>/vis_data/scalars.json) are written to the '
        'work dir. ' + CHECKPOINT_TRUST_HELP)
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
        f'run: {CPU_AMP_OPTIM_WRAPPER}, i.e. the forward pass and loss '
        'under torch.autocast("cpu", dtype=torch.bfloat16) with no loss '
        'scaling; weights, gradients and optimizer state stay float32. '
        'Needs optim_wrapper.type=OptimWrapper in the config.')
    return parse_runner_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    setup_runtime(cfg, args.config, args.work_dir, args.launcher)
    if args.amp:
        enable_amp(cfg)
    apply_resume(cfg, args.resume)
    check_train_data_folders(cfg)
    # one run per work dir (refused with the other run's PID / host)
    lock = lock_work_dir(cfg.work_dir)
    try:
        runner = make_runner(cfg, args.launcher)
        check_training_checkpoint(cfg, runner.model)
        with explained_build_errors(cfg):
            runner.train()
    except FloatingPointError as exc:
        # hrseg_plugin.NonFiniteLossHook: NaN/Inf loss, stopped before the
        # update; one line, as the other errors of the tools
        raise ToolError(f'training stopped: {exc}') from exc
    finally:
        if lock is not None:
            lock.release()


if __name__ == '__main__':
    run_tool(main)

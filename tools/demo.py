"""The end-to-end demo behind `make demo`.

Trains ``configs/demo/hrnet_ocr.py`` on the generated demo data with
``tools/train.py``, evaluates the final checkpoint with ``tools/test.py``,
and writes under the work dir:

- ``iter_*.pth``: the checkpoints;
- ``metrics.json``: aAcc / mIoU / mAcc of the val split;
- ``per_class_iou.txt`` / ``per_class_iou.json``: the IoU of every class;
- ``loss_curve.png``: the training losses against the iteration;
- ``overlays/*.png``: predictions drawn over val images (``tools/infer.py``).

Usage:
    python tools/demo.py [--config configs/demo/hrnet_ocr.py]
        [--work-dir work_dirs/demo] [--data-root data/demo/cityscapes]
        [--max-iters N]
"""
import argparse
import glob
import json
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run(args):
    """Run a tool of this repo with the current interpreter; stop on
    failure."""
    cmd = [sys.executable] + args
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


def read_scalars(work_dir):
    """The training log records of the newest run in ``work_dir``."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    if not logs:
        raise FileNotFoundError(f'no training log (*/vis_data/scalars.json) '
                                f'under {work_dir}')
    with open(logs[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def plot_losses(records, out_file):
    """Plot every loss term of the training records against iteration."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    train = [r for r in records if 'loss' in r and 'iter' in r]
    keys = sorted({k for r in train for k in r if k.endswith('loss_ce')} |
                  {'loss'})
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for key in keys:
        pts = [(r['iter'], r[key]) for r in train if key in r]
        ax.plot(*zip(*pts), label=key, linewidth=2 if key == 'loss' else 1)
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss')
    ax.set_title('HRNet-OCR demo training')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='configs/demo/hrnet_ocr.py')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/demo/cityscapes')
    parser.add_argument(
        '--num-overlays', type=int, default=4,
        help='how many val images to draw predictions on')
    parser.add_argument(
        '--max-iters', type=int, default=None,
        help='train this many iterations instead of the config\'s (a '
        'quick check of the whole pipeline)')
    args = parser.parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    val_dir = osp.join(ROOT, args.data_root, 'leftImg8bit', 'val')
    if not osp.isdir(val_dir):
        sys.exit(f'demo data not found: {val_dir} is missing; run '
                 f'`python tools/make_demo_data.py --out '
                 f'{osp.dirname(args.data_root)}` first')
    data_opt = f'train_dataloader.dataset.data_root={args.data_root} ' \
        f'val_dataloader.dataset.data_root={args.data_root} ' \
        f'test_dataloader.dataset.data_root={args.data_root}'.split()
    train_opt = []
    if args.max_iters:
        n = args.max_iters
        train_opt = [f'train_cfg.max_iters={n}', f'train_cfg.val_interval={n}',
                     f'default_hooks.checkpoint.interval={n}',
                     'default_hooks.logger.interval=1']

    run(['tools/train.py', args.config, '--work-dir', work_dir,
         '--cfg-options'] + data_opt + train_opt)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()

    run(['tools/test.py', args.config, checkpoint, '--work-dir', work_dir,
         '--out', work_dir, '--cfg-options'] + data_opt +
        ['test_evaluator.type=hrseg_plugin.PerClassIoUMetric'])
    with open(osp.join(work_dir, 'metrics.json')) as f:
        metrics = json.load(f)
    per_class = {k[len('IoU.'):]: v for k, v in metrics.items()
                 if k.startswith('IoU.')}
    with open(osp.join(work_dir, 'per_class_iou.json'), 'w') as f:
        json.dump(per_class, f, indent=2)
    with open(osp.join(work_dir, 'per_class_iou.txt'), 'w') as f:
        f.write(f"mIoU {metrics['mIoU']:.2f}  aAcc {metrics['aAcc']:.2f}\n")
        for name, iou in per_class.items():
            # mmseg reports None for a class absent from the val split
            value = 'n/a (not in the val images)' if iou is None \
                else f'{iou:6.2f}'
            f.write(f'{name:15s} {value}\n')

    plot_losses(read_scalars(work_dir), osp.join(work_dir, 'loss_curve.png'))

    images = sorted(glob.glob(osp.join(val_dir, '*', '*.png')))
    run(['tools/infer.py', args.config, checkpoint] +
        images[:args.num_overlays] + ['--out', osp.join(work_dir,
                                                        'overlays')])

    print(f"\ndemo done: val mIoU {metrics['mIoU']:.2f} "
          f'(per class in {work_dir}/per_class_iou.txt); loss curve, '
          f'overlays and checkpoints in {work_dir}')


if __name__ == '__main__':
    main()

"""Run a trained MMSegmentation or MMDetection model on images and write
overlay PNGs.

For mmseg configs (``default_scope='mmseg'``) the predicted segmentation map
is painted over the image with ``SegLocalVisualizer``; for mmdet configs
(``default_scope='mmdet'``) boxes (and masks of instance segmentation models)
with ``DetLocalVisualizer``. Each input ``IMAGE`` gives ``DIR/<stem>.png``
of the same size as the image.

Examples::

    python tools/infer.py CONFIG CKPT demo/a.jpg demo/b.jpg --out vis/
    python tools/infer.py CONFIG CKPT data/images/ --out vis/ --skip-bad
"""
import os
import os.path as osp
import sys

from hrseg_plugin.apis import (IMAGE_EXTENSIONS, Predictor, ToolError,
                               add_cfg_options_arg, check_file, check_image,
                               collect_images, config_checkpoint_parser,
                               explain_exception, load_config, read_image,
                               run_tool)


def parse_args(argv=None):
    parser = config_checkpoint_parser(
        'Predict images with an mmseg or mmdet model and write the '
        'predictions painted over each image to OUT/<image stem>.png.',
        'config file path')
    parser.add_argument(
        'images',
        nargs='+',
        metavar='IMAGE',
        help='image files, or folders: all images in a folder (extensions '
        f'{", ".join(IMAGE_EXTENSIONS)}, not recursive)')
    parser.add_argument(
        '--out',
        required=True,
        metavar='DIR',
        help='output folder for the overlay PNGs (created if needed)')
    parser.add_argument(
        '--device',
        default=None,
        help='torch device, e.g. cpu or cuda:0 (default: cuda:0 when CUDA '
        'is available, else cpu)')
    parser.add_argument(
        '--opacity',
        type=float,
        default=0.5,
        help='opacity of the painted segmentation map / masks, in (0, 1] '
        '(default: 0.5)')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='detections scoring below it are not drawn (mmdet only; '
        'default: 0.3)')
    parser.add_argument(
        '--skip-bad',
        action='store_true',
        help='skip images that cannot be read (missing, truncated or not '
        'decodable) or predicted, instead of failing, and count them in the '
        'summary line')
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def predict_error(path, img, exc) -> ToolError:
    """The error naming the image (and its size as read) that the model
    could not predict."""
    reason = explain_exception(exc)
    if reason is None:
        lines = str(exc).strip().splitlines() or ['']
        reason = f'{type(exc).__name__}: {lines[0]}'
    h, w = img.shape[:2]
    return ToolError(f'cannot predict image {path} ({h}x{w} HxW as read, '
                     f'before the test pipeline\'s Resize): {reason}; '
                     '--skip-bad skips such images')


def main(argv=None):
    args = parse_args(argv)
    check_file(args.checkpoint, 'checkpoint file')
    cfg = load_config(args.config, args.cfg_options)
    images = collect_images(args.images)
    if not args.skip_bad:
        # Fail on a missing, non-image or truncated JPEG file before
        # loading the model (a file corrupt inside still fails later).
        for path in images:
            check_image(path)

    device = args.device
    if device is None:
        import torch
        device = 'cuda:0' if torch.cuda.is_available() else 'cpu'
    predictor = Predictor(
        cfg,
        args.checkpoint,
        device=device,
        opacity=args.opacity,
        score_thr=args.score_thr)

    from tqdm import tqdm
    os.makedirs(args.out, exist_ok=True)
    written, skipped, failed, seen_stems = [], [], [], {}
    for path in tqdm(images, desc='infer', unit='img'):
        try:
            img = read_image(path)
        except ToolError as exc:
            if not args.skip_bad:
                raise
            skipped.append(path)
            tqdm.write(f'skipping {exc}', file=sys.stderr)
            continue
        stem = osp.splitext(osp.basename(path))[0]
        if stem in seen_stems:
            tqdm.write(
                f'warning: {path} and {seen_stems[stem]} have the same '
                f'name: {stem}.png is overwritten',
                file=sys.stderr)
        seen_stems[stem] = path
        out_file = osp.join(args.out, f'{stem}.png')
        try:
            predictor(img, out_file)
        except Exception as exc:  # noqa: BLE001 - named, then raised/skipped
            error = predict_error(path, img, exc)
            if not args.skip_bad:
                raise error from exc
            failed.append(path)
            tqdm.write(f'skipping: {error}', file=sys.stderr)
            continue
        written.append(out_file)

    summary = (f'infer: wrote {len(written)} image(s) to {args.out}; '
               f'skipped {len(skipped)} unreadable image(s)')
    if skipped:
        summary += ': ' + ', '.join(skipped)
    if failed:
        summary += (f'; skipped {len(failed)} image(s) the model could not '
                    'predict: ' + ', '.join(failed))
    print(summary)
    return written, skipped + failed


if __name__ == '__main__':
    run_tool(main)

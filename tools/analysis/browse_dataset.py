"""Draw a config's data as the pipeline delivers it (images with their
ground truth), for mmseg and mmdet configs.

Stock ``mmseg/.mim/tools/analysis_tools/browse_dataset.py`` (and
``misc/browse_dataset.py``) fail with OpenCV 4.10 on every segmentation
sample: they hand the visualizer a non-contiguous view of the image, and
``cv2.rectangle`` refuses it ("Layout of the output array img is
incompatible with cv::Mat"). This tool passes a contiguous copy; otherwise
it does what stock's does, for both libraries (chosen by the config's
``default_scope``).

Examples::

    python tools/analysis/browse_dataset.py configs/demo/hrnet_ocr.py --out vis/
    python tools/analysis/browse_dataset.py CONFIG --split val --num 20 --out vis/
"""
import os
import os.path as osp

import numpy as np
from tqdm import tqdm

from hrseg_plugin.apis import (ToolError, add_cfg_options_arg,
                               check_data_folders, docstring_parser,
                               get_task_spec, import_object, load_config,
                               run_tool)
from hrseg_plugin.utils.config import init_config_scope

SPLITS = {'train': 'train_dataloader', 'val': 'val_dataloader',
          'test': 'test_dataloader'}


def parse_args(argv=None):
    parser = docstring_parser(__doc__)
    parser.add_argument('config', help='config file')
    parser.add_argument('--out', required=True, metavar='DIR',
                        help='folder for the drawn images')
    parser.add_argument('--split', choices=sorted(SPLITS), default='train',
                        help='which dataloader\'s dataset and pipeline '
                        '(default: train)')
    parser.add_argument('--num', type=int, default=10,
                        help='samples to draw, from the first (default: 10)')
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def plain_instances(sample) -> None:
    """Boxes and masks of an mmdet sample as the visualizer draws them
    (tensors, boolean arrays), as stock mmdet's browse_dataset does."""
    from mmdet.structures.bbox import BaseBoxes
    from mmdet.structures.mask import BitmapMasks, PolygonMasks
    gt = sample.gt_instances
    if isinstance(gt.get('bboxes', None), BaseBoxes):
        gt.bboxes = gt.bboxes.tensor
    if isinstance(gt.get('masks', None), (BitmapMasks, PolygonMasks)):
        gt.masks = gt.masks.to_ndarray().astype(bool)


def main(argv=None):
    args = parse_args(argv)
    if args.num < 1:
        raise ToolError(f'--num must be at least 1, got {args.num}')
    cfg = load_config(args.config, args.cfg_options)
    spec = get_task_spec(cfg, args.config)
    init_config_scope(cfg)
    loader = SPLITS[args.split]
    check_data_folders(cfg, (loader, ))
    registry = import_object(f'{spec.scope}.registry:DATASETS')
    dataset = registry.build(cfg[loader].dataset)
    visualizer = import_object(spec.visualizer)(
        name='browse_dataset', vis_backends=[dict(type='LocalVisBackend')],
        save_dir=args.out)
    visualizer.dataset_meta = dataset.metainfo
    os.makedirs(args.out, exist_ok=True)
    count = min(args.num, len(dataset))
    for index in tqdm(range(count), desc='drawing', unit='img'):
        item = dataset[index]
        # CHW BGR tensor -> a contiguous HWC RGB array (stock passes a view)
        image = np.ascontiguousarray(
            item['inputs'].permute(1, 2, 0).numpy()[..., ::-1])
        sample = item['data_samples'].numpy()
        if spec.scope == 'mmdet':
            plain_instances(sample)
        name = osp.basename(sample.img_path)
        visualizer.add_datasample(
            name, image, data_sample=sample, draw_gt=True, draw_pred=False,
            show=False, out_file=osp.join(args.out, name),
            **spec.draw_kwargs)
    print(f'drew {count} {args.split} sample(s) of {args.config} into '
          f'{args.out}')


if __name__ == '__main__':
    run_tool(main)

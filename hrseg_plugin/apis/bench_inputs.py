"""Random inputs for :mod:`.benchmark`: normalised images and the data
samples with the ground truth each library's loss needs (a segmentor's
label map, a detector's boxes and masks, a pose estimator's heatmaps, a
classifier's label)."""
from typing import Sequence

import torch
import torch.nn as nn


def make_inputs(model: nn.Module, batch: int, shape: Sequence[int],
                seed: int = 0) -> dict:
    """Random normalised images and data samples with the ground truth the
    model's loss needs (a random label map for a segmentor; a few random
    boxes, labels and masks for a detector; random keypoint heatmaps for an
    mmpose top-down estimator; a random label for an mmpretrain
    classifier)."""
    gen = torch.Generator().manual_seed(seed)
    h, w = shape
    inputs = torch.randn(batch, 3, h, w, generator=gen)
    meta = dict(
        img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
        batch_input_shape=(h, w), scale_factor=(1.0, 1.0), flip=False)
    samples = []
    is_segmentor = hasattr(model, 'decode_head')
    library = type(model).__module__.split('.')[0]
    for _ in range(batch):
        if library == 'mmpose':
            sample = _pose_sample(model, meta, gen)
        elif library == 'mmpretrain':
            from mmpretrain.structures import DataSample
            sample = DataSample(metainfo=meta).set_gt_label(
                torch.randint(0, model.head.num_classes, (1, ),
                              generator=gen))
        elif is_segmentor:
            from mmengine.structures import PixelData
            from mmseg.structures import SegDataSample
            sample = SegDataSample(metainfo=meta)
            num_classes = _num_classes(model)
            sample.gt_sem_seg = PixelData(
                data=torch.randint(
                    0, num_classes, (1, h, w), generator=gen))
        else:
            from mmdet.structures import DetDataSample
            from mmdet.structures.mask import BitmapMasks
            from mmengine.structures import InstanceData
            sample = DetDataSample(metainfo=meta)
            gt = InstanceData()
            n = 3
            xy = torch.rand(n, 2, generator=gen) * torch.tensor([w, h]) * 0.6
            wh = (torch.rand(n, 2, generator=gen) * 0.3 + 0.1) * \
                torch.tensor([w, h])
            gt.bboxes = torch.cat([xy, xy + wh], dim=1)
            gt.labels = torch.randint(0, 3, (n, ), generator=gen)
            masks = torch.zeros(n, h, w, dtype=torch.uint8)
            for k, (x0, y0, x1, y1) in enumerate(gt.bboxes.long().tolist()):
                masks[k, y0:y1, x0:x1] = 1
            gt.masks = BitmapMasks(masks.numpy(), h, w)
            sample.gt_instances = gt
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _pose_sample(model: nn.Module, meta: dict, gen: torch.Generator):
    """A top-down pose sample: random target heatmaps at the head's
    output size (1/4 of the input) for every keypoint, all visible."""
    from mmengine.structures import InstanceData, PixelData
    from mmpose.structures import PoseDataSample
    h, w = meta['img_shape']
    k = model.head.out_channels
    sample = PoseDataSample(metainfo=dict(meta, input_size=(w, h)))
    sample.gt_fields = PixelData(
        heatmaps=torch.rand(k, h // 4, w // 4, generator=gen))
    sample.gt_instance_labels = InstanceData(
        keypoint_weights=torch.ones(1, k))
    return sample


def _num_classes(model: nn.Module) -> int:
    head = model.decode_head
    if isinstance(head, nn.ModuleList):
        head = head[-1]
    return head.num_classes

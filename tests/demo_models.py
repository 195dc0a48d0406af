"""Models of the demo configs and small networks the reliability tests
build (one place; the tests import them)."""
import copy
import functools
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

from hrseg_plugin.models.backbones.bisenet import BiSeNet

REPO = Path(__file__).resolve().parents[1]
SEG_DEMOS = ['hrnet_ocr', 'bisenet_r18', 'spnet_r50', 'hrnet_w18_skconv_ocr']


def build_demo_model(name):
    """A fresh copy of the demo config's model (built once per session)."""
    return copy.deepcopy(_build_demo_model(name))


@functools.lru_cache(maxsize=None)
def _build_demo_model(name):
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(REPO / 'configs' / 'demo' / f'{name}.py'))
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    return model


def seg_batch(h, w, label_value=None, n=2, num_classes=19):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=g,
                                    dtype=torch.uint8))
        if label_value is None:
            seg = torch.randint(0, num_classes, (1, h, w), generator=g)
        else:
            seg = torch.full((1, h, w), label_value)
        s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                        pad_shape=(h, w)))
        s.gt_sem_seg = PixelData(data=seg.long())
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)




def small_bisenet(in_channels=3):
    return BiSeNet(
        backbone_cfg=dict(type='mmseg.ResNet', depth=18, base_channels=8,
                          stem_channels=8, out_indices=(0, 1, 2, 3),
                          in_channels=in_channels),
        in_channels=in_channels, spatial_variant='coincheung',
        spatial_channels=(8, 8, 8, 16),
        context_channels=16)


"""Parameters and GMACs of the plugin blocks on a reference feature map.

Counts with mmengine's analysis tool (``get_model_complexity_info``; like
fvcore it counts one multiply-add as one "flop", i.e. MACs, for convs,
norms, pooling and interpolation, and ignores element-wise ops such as
ReLU, sigmoid, softmax and products). Every block is measured on one
feature map, next to the plain 3x3 conv + BN it replaces or extends; the
decode heads are measured on the stage-4 output of a dilated ResNet-50.

Defaults: C=512 at 64x128 (the width of the 3x3 convs of a ResNet-50 stage
4, output stride 8, on a 512x1024 Cityscapes crop, where SPNet puts its
SPMs), heads on (2048, 64, 128).

Usage::

    python tools/analyze_blocks.py [--channels 512] [--size 64 128]
        [--head-channels 2048]
"""
import argparse

import torch.nn as nn


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--channels', type=int, default=512,
                        help='channels of the block input (default 512)')
    parser.add_argument('--size', type=int, nargs=2, default=(64, 128),
                        metavar=('H', 'W'),
                        help='feature map size (default 64 128)')
    parser.add_argument('--head-channels', type=int, default=2048,
                        help='input channels of the decode heads')
    return parser.parse_args(argv)


def build_rows(channels: int, head_channels: int):
    """(name, module, input channels) of every measured model."""
    from mmcv.cnn import ConvModule
    from mmseg.models.decode_heads import FCNHead

    from hrseg_plugin.models.decode_heads import StripPoolingHead
    from hrseg_plugin.models.layers import MPM, SPM, SKConv

    c, hc = channels, head_channels
    norm = dict(type='BN')
    head = dict(
        in_channels=hc,
        num_classes=19,
        dropout_ratio=0.1,
        norm_cfg=norm,
        align_corners=False)
    return [
        ('3x3 conv + BN (reference)',
         ConvModule(c, c, 3, padding=1, norm_cfg=norm, act_cfg=None), c),
        ('SKConv, M=2, G=32 (paper)', SKConv(c, groups=32), c),
        ('SKConv, M=2, G=2 (same MACs as the 3x3 conv)', SKConv(c, groups=2),
         c),
        ('SPM (SPNet SPBlock)', SPM(c), c),
        ('MPM, pool sizes (20, 12)', MPM(c), c),
        (f'FCNHead (stock fcn_r50-d8 head, in {hc})',
         FCNHead(
             channels=hc // 4, num_convs=2, concat_input=True, **head), hc),
        (f'StripPoolingHead (SPNet head, in {hc})',
         StripPoolingHead(
             mpm_channels=hc // 2, channels=hc // 4, **head), hc),
    ]


def measure(model: nn.Module, in_channels: int, size):
    from mmengine.analysis import get_model_complexity_info
    model.eval()
    if hasattr(model, 'in_index'):  # a decode head takes a list of maps
        model = _ListInput(model)
    info = get_model_complexity_info(
        model, input_shape=(in_channels, *size), show_table=False,
        show_arch=False)
    return info['params'], info['flops']


class _ListInput(nn.Module):
    """Feed a decode head the single map as a one-element list."""

    def __init__(self, head: nn.Module):
        super().__init__()
        head.in_index = 0
        self.head = head

    def forward(self, x):
        return self.head([x])


def main(argv=None):
    args = parse_args(argv)
    import logging

    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.ERROR)
    logging.getLogger('fvcore').setLevel(logging.ERROR)

    size = tuple(args.size)
    print(f'Blocks on (1, {args.channels}, {size[0]}, {size[1]}), heads on '
          f'(1, {args.head_channels}, {size[0]}, {size[1]}); '
          'mmengine get_model_complexity_info.\n')
    print('| block | params (M) | GMACs |')
    print('| --- | ---: | ---: |')
    for name, model, cin in build_rows(args.channels, args.head_channels):
        params, macs = measure(model, cin, size)
        print(f'| {name} | {params / 1e6:.3f} | {macs / 1e9:.2f} |')


if __name__ == '__main__':
    main()

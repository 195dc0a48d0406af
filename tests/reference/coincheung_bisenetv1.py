"""CoinCheung/BiSeNet's BiSeNetV1 in each checkpoint layout it has had,
for tests only.

Written from reading https://github.com/CoinCheung/BiSeNet at its latest
commit ``6b4b67a8e3eb0cc23b3d7a94843a7c3c11dedca8`` (2026-04-04):
``lib/models/bisenetv1.py`` (last changed by ``fdcfdc3``, 2024-12-19) and
``lib/models/resnet.py`` (last changed by ``f2b9015``, a blank line), and
that file's history for the older layouts. Module names (hence checkpoint
keys) and the forward computation are theirs, op by op; ``layout`` selects
the version:

``'current'`` (``e40b825`` "update trt", 2021-07-13, to the latest commit;
the published ``model_final_v1_city_new.pth``)
    ``BiSeNetOutput``: ``conv`` (ConvBNReLU 3x3), ``conv_out`` (1x1 to
    ``n_classes`` **with bias**), ``nn.Upsample(scale_factor=up_factor,
    mode='bilinear', align_corners=False)``; up factors 8 (``conv_out``),
    8 (``conv_out16``), 16 (``conv_out32``). FFM attention: mean ->
    ``conv`` (1x1, no bias) -> ``bn`` -> ``.sigmoid()``; ARM: sigmoid as a
    method.
``'refactor-2021'`` (``c0422a1`` "refactor", 2021-07-07, one week)
    outputs as ``'current'``; FFM attention still the two-layer MLP
    ``conv1`` (C -> C/4) -> ReLU -> ``conv2`` (C/4 -> C) -> ``nn.Sigmoid``;
    ARM with an ``nn.Sigmoid`` module (no parameters either way).
``'pixel-shuffle'`` (``12cd095`` "add tensorrt", 2020-09-29, to
``c0422a1``)
    ``conv_out`` predicts ``n_classes * up_factor**2`` channels with bias,
    ``nn.PixelShuffle(up_factor)``; FFM with the MLP.
``'original'`` (``0471e80`` "refactoring", 2020-08-06, to ``12cd095``)
    ``conv_out`` without bias to ``n_classes`` at 1/8; the model
    interpolates the three outputs to the input size (bilinear,
    ``align_corners=True``); the context path interpolates (nearest) to the
    ResNet features' sizes instead of ``nn.Upsample(scale_factor=2.)``;
    ``F.avg_pool2d`` over the whole map instead of ``torch.mean``; FFM with
    the MLP; the constructor has no ``output_aux`` / ``aux_mode``.

From ``12cd095`` on, the context path upsamples by ``nn.Upsample(
scale_factor=2.)`` (nearest), so their model runs only where each ResNet
feature is exactly twice the next one: an input side of 32k or of
32k + 25 ... 32k + 31 (their ``tools/evaluate.py`` resizes every image to a
multiple of 32 first).

Left out, changing no key and no output: ``Resnet18.init_weight`` (it
downloads torchvision's ImageNet weights: the tests give random weights),
the ``get_params`` optimizer helpers, the unused ``UpSample`` class, the
``__main__`` demos, and ``CustomArgMax`` (``aux_mode='pred'``, an ONNX
symbolic for their TensorRT plugin; here a plain ``argmax``). The aux
switch is ``aux_mode`` ('train' / 'eval' / 'pred', since ``c6d7405``); the
older ``output_aux=False`` (``12cd095``) is ``aux_mode='pred'``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import BatchNorm2d

LAYOUTS = ('current', 'refactor-2021', 'pixel-shuffle', 'original')


def _kaiming_init(module):
    """Their ``init_weight`` of every module but the ResNet."""
    for ly in module.children():
        if isinstance(ly, nn.Conv2d):
            nn.init.kaiming_normal_(ly.weight, a=1)
            if ly.bias is not None:
                nn.init.constant_(ly.bias, 0)


# ----------------------------------------------------------------------------
# lib/models/resnet.py (the same in every layout)
# ----------------------------------------------------------------------------


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride,
                     padding=1, bias=False)


class BasicBlock(nn.Module):

    def __init__(self, in_chan, out_chan, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_chan, out_chan, stride)
        self.bn1 = BatchNorm2d(out_chan)
        self.conv2 = conv3x3(out_chan, out_chan)
        self.bn2 = BatchNorm2d(out_chan)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if in_chan != out_chan or stride != 1:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_chan, out_chan, kernel_size=1, stride=stride,
                          bias=False),
                BatchNorm2d(out_chan))

    def forward(self, x):
        residual = self.relu(self.bn1(self.conv1(x)))
        residual = self.bn2(self.conv2(residual))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(shortcut + residual)


def create_layer_basic(in_chan, out_chan, bnum, stride=1):
    layers = [BasicBlock(in_chan, out_chan, stride=stride)]
    layers += [BasicBlock(out_chan, out_chan) for _ in range(bnum - 1)]
    return nn.Sequential(*layers)


class Resnet18(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3,
                               bias=False)
        self.bn1 = BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = create_layer_basic(64, 64, bnum=2, stride=1)
        self.layer2 = create_layer_basic(64, 128, bnum=2, stride=2)
        self.layer3 = create_layer_basic(128, 256, bnum=2, stride=2)
        self.layer4 = create_layer_basic(256, 512, bnum=2, stride=2)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        feat8 = self.layer2(x)
        feat16 = self.layer3(feat8)
        feat32 = self.layer4(feat16)
        return feat8, feat16, feat32


# ----------------------------------------------------------------------------
# lib/models/bisenetv1.py
# ----------------------------------------------------------------------------


def _global_mean(x, layout):
    if layout == 'original':
        return F.avg_pool2d(x, x.size()[2:])
    return torch.mean(x, dim=(2, 3), keepdim=True)


class ConvBNReLU(nn.Module):

    def __init__(self, in_chan, out_chan, ks=3, stride=1, padding=1):
        super().__init__()
        self.conv = nn.Conv2d(in_chan, out_chan, kernel_size=ks,
                              stride=stride, padding=padding, bias=False)
        self.bn = BatchNorm2d(out_chan)
        self.relu = nn.ReLU(inplace=True)
        _kaiming_init(self)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class BiSeNetOutput(nn.Module):

    def __init__(self, in_chan, mid_chan, n_classes, up_factor, layout):
        super().__init__()
        self.layout = layout
        self.conv = ConvBNReLU(in_chan, mid_chan, ks=3, stride=1, padding=1)
        if layout == 'original':
            self.conv_out = nn.Conv2d(mid_chan, n_classes, 1, bias=False)
        elif layout == 'pixel-shuffle':
            self.conv_out = nn.Conv2d(mid_chan,
                                      n_classes * up_factor * up_factor, 1,
                                      bias=True)
            self.up = nn.PixelShuffle(up_factor)
        else:
            self.conv_out = nn.Conv2d(mid_chan, n_classes, 1, bias=True)
            self.up = nn.Upsample(scale_factor=up_factor, mode='bilinear',
                                  align_corners=False)
        _kaiming_init(self)

    def forward(self, x):
        x = self.conv_out(self.conv(x))
        # 'original': the model interpolates to the input size
        return x if self.layout == 'original' else self.up(x)


class AttentionRefinementModule(nn.Module):

    def __init__(self, in_chan, out_chan, layout):
        super().__init__()
        self.layout = layout
        self.conv = ConvBNReLU(in_chan, out_chan, ks=3, stride=1, padding=1)
        self.conv_atten = nn.Conv2d(out_chan, out_chan, kernel_size=1,
                                    bias=False)
        self.bn_atten = BatchNorm2d(out_chan)
        _kaiming_init(self)

    def forward(self, x):
        feat = self.conv(x)
        atten = self.bn_atten(self.conv_atten(_global_mean(feat, self.layout)))
        return torch.mul(feat, atten.sigmoid())


class ContextPath(nn.Module):

    def __init__(self, layout):
        super().__init__()
        self.layout = layout
        self.resnet = Resnet18()
        self.arm16 = AttentionRefinementModule(256, 128, layout)
        self.arm32 = AttentionRefinementModule(512, 128, layout)
        self.conv_head32 = ConvBNReLU(128, 128, ks=3, stride=1, padding=1)
        self.conv_head16 = ConvBNReLU(128, 128, ks=3, stride=1, padding=1)
        self.conv_avg = ConvBNReLU(512, 128, ks=1, stride=1, padding=0)
        if layout != 'original':
            self.up32 = nn.Upsample(scale_factor=2.)
            self.up16 = nn.Upsample(scale_factor=2.)
        _kaiming_init(self)

    def _up(self, x, which, like):
        if self.layout == 'original':
            return F.interpolate(x, like.size()[2:], mode='nearest')
        return getattr(self, which)(x)

    def forward(self, x):
        feat8, feat16, feat32 = self.resnet(x)
        avg = self.conv_avg(_global_mean(feat32, self.layout))
        if self.layout == 'original':  # a 1x1 map "interpolated" to 1/32
            avg = F.interpolate(avg, feat32.size()[2:], mode='nearest')
        feat32_up = self.conv_head32(
            self._up(self.arm32(feat32) + avg, 'up32', feat16))
        feat16_up = self.conv_head16(
            self._up(self.arm16(feat16) + feat32_up, 'up16', feat8))
        return feat16_up, feat32_up  # x8, x16


class SpatialPath(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv1 = ConvBNReLU(3, 64, ks=7, stride=2, padding=3)
        self.conv2 = ConvBNReLU(64, 64, ks=3, stride=2, padding=1)
        self.conv3 = ConvBNReLU(64, 64, ks=3, stride=2, padding=1)
        self.conv_out = ConvBNReLU(64, 128, ks=1, stride=1, padding=0)
        _kaiming_init(self)

    def forward(self, x):
        return self.conv_out(self.conv3(self.conv2(self.conv1(x))))


class FeatureFusionModule(nn.Module):

    def __init__(self, in_chan, out_chan, layout):
        super().__init__()
        self.layout = layout
        self.convblk = ConvBNReLU(in_chan, out_chan, ks=1, stride=1,
                                  padding=0)
        if layout == 'current':  # "conv-bn instead of 2 layer mlp"
            self.conv = nn.Conv2d(out_chan, out_chan, 1, bias=False)
            self.bn = nn.BatchNorm2d(out_chan)
        else:
            self.conv1 = nn.Conv2d(out_chan, out_chan // 4, 1, bias=False)
            self.conv2 = nn.Conv2d(out_chan // 4, out_chan, 1, bias=False)
            self.relu = nn.ReLU(inplace=True)
        _kaiming_init(self)

    def forward(self, fsp, fcp):
        feat = self.convblk(torch.cat([fsp, fcp], dim=1))
        atten = _global_mean(feat, self.layout)
        if self.layout == 'current':
            atten = self.bn(self.conv(atten))
        else:
            atten = self.conv2(self.relu(self.conv1(atten)))
        return torch.mul(feat, atten.sigmoid()) + feat


class BiSeNetV1(nn.Module):
    """Their ``BiSeNetV1(n_classes, aux_mode)`` in ``layout`` (one of
    :data:`LAYOUTS`). ``aux_mode='train'`` returns the main and both
    auxiliary outputs, ``'eval'`` a 1-tuple of the main output (both
    without the auxiliary ``conv_out16/32`` modules in ``'eval'``), and
    ``'pred'`` its argmax."""

    def __init__(self, n_classes, aux_mode='train', layout='current'):
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f'layout {layout!r} not in {LAYOUTS}')
        self.layout = layout
        self.cp = ContextPath(layout)
        self.sp = SpatialPath()
        self.ffm = FeatureFusionModule(256, 256, layout)
        self.conv_out = BiSeNetOutput(256, 256, n_classes, 8, layout)
        # 'original' always has the auxiliary outputs
        self.aux_mode = 'train' if layout == 'original' else aux_mode
        if self.aux_mode == 'train':
            self.conv_out16 = BiSeNetOutput(128, 64, n_classes, 8, layout)
            self.conv_out32 = BiSeNetOutput(128, 64, n_classes, 16, layout)
        _kaiming_init(self)

    def forward(self, x):
        size = x.size()[2:]
        feat_cp8, feat_cp16 = self.cp(x)
        feat_fuse = self.ffm(self.sp(x), feat_cp8)
        outs = [self.conv_out(feat_fuse)]
        if self.aux_mode == 'train':
            outs += [self.conv_out16(feat_cp8), self.conv_out32(feat_cp16)]
        if self.layout == 'original':
            outs = [F.interpolate(o, size, mode='bilinear',
                                  align_corners=True) for o in outs]
        if self.aux_mode == 'train':
            return tuple(outs)
        if self.aux_mode == 'eval':
            return outs[0],
        return outs[0].argmax(dim=1)

"""Re-implementation of the official HRNet-OCR segmentation model (tests only).

Upstream, read for this re-implementation (not copied):
repository ``https://github.com/HRNet/HRNet-Semantic-Segmentation``, branch
``HRNet-OCR``, commit ``0bbb2880446ddff2d78f8dd7e8c4c610151d5a51``:

* ``lib/models/seg_hrnet_ocr.py``: the model (every class and function here
  except the config presets and :class:`FullModel`);
* ``lib/models/bn_helper.py``: the norm layer and ``relu_inplace``;
* ``lib/config/default.py`` (defaults: ``MODEL.ALIGN_CORNERS`` True,
  ``MODEL.OCR.MID_CHANNELS`` 512, ``MODEL.OCR.KEY_CHANNELS`` 256,
  ``DATASET.NUM_CLASSES`` 19) and
  ``experiments/cityscapes/seg_hrnet_ocr_w48_*.yaml`` (W48 architecture,
  ``MODEL.NUM_OUTPUTS`` 2): the presets of :func:`get_config`;
* ``lib/utils/utils.py``: :class:`FullModel`, the training wrapper whose
  state dict the official ``tools/train.py`` saves.

This is the "original model in its own code" that the ``hrnet-official``
weight converter is tested against. Module and parameter names are identical
to the official code, so ``state_dict()`` yields the official checkpoint key
names (``conv1.weight``, ``stage2.0.fuse_layers.0.1.0.weight``,
``conv3x3_ocr.0.bias``,
``ocr_distri_head.object_context_block.f_pixel.0.weight``,
``aux_head.0.bias``, ``cls_head.weight``, ...). The forward computation is the
official one, operation by operation; ``forward`` returns
``[out_aux, out]`` like upstream (``tools/test.py`` uses ``out``, i.e.
``TEST.OUTPUT_INDEX`` -1; the loss weighs them with
``LOSS.BALANCE_WEIGHTS`` [0.4, 1]).

Deliberate deviations from upstream, none of which changes a key name, a
shape, the eval-mode output or the single-process train-mode output (checked
against the upstream file at the commit above: identical state-dict keys,
shapes and initial values, module reprs, eval and train outputs,
gradients and updated BN statistics):

* The normalisation layer is plain :class:`torch.nn.BatchNorm2d` instead of
  ``bn_helper.BatchNorm2d`` (``torch.nn.SyncBatchNorm`` on torch >= 1.0,
  ``InPlaceABNSync`` with ``relu_inplace = False`` on 0.x); the parameters
  and buffers are the same. Only in multi-process (DDP) training does
  SyncBN differ: it normalises with the statistics of the global batch.
* ``ALIGN_CORNERS`` is a constructor argument (``align_corners``, stored as
  an attribute) passed down to the modules that interpolate, instead of the
  module global that every ``HighResolutionNet`` constructor overwrites (so
  that two models with different values can live in one process).
* The config is a plain nested dict shaped like the official yacs config
  (``MODEL.EXTRA.STAGEx``, ``MODEL.OCR``, ``DATASET.NUM_CLASSES``) instead of
  a ``yacs`` ``CfgNode``; it holds only the model's keys. ``STAGE1`` has
  ``NUM_BRANCHES`` where the yaml files have the typo ``NUM_RANCHES``
  (unread by the model either way). The OCR ``DROPOUT`` / ``SCALE`` entries
  are, as upstream, not read: the model hard-codes 0.05 / 1.
* ``init_weights`` does the official random init only; it does not load
  ``MODEL.PRETRAINED`` (ImageNet) weights, so ``get_seg_model`` neither.
* No logging (``_check_branches`` raises the same errors without
  ``logger.error``); ``np.int(np.sum(...))`` is ``int(sum(...))``
  (``np.int`` is gone from numpy >= 1.24); the backbone part of ``forward``
  is the method :meth:`HighResolutionNet.backbone_features`;
  ``ObjectAttentionBlock2D`` inherits its constructor; unused locals (``h``,
  ``w`` in ``SpatialGather_Module.forward``) are dropped.

The official repository publishes W48 configs only. The W18 preset is the same
model with HRNetV2-W18 widths (18, 36, 72, 144) and otherwise identical
settings, i.e. the architecture of mmseg's ``ocrnet_hr18``.
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

BN_MOMENTUM = 0.1
# bn_helper.py: relu_inplace = True for torch >= 1.0
relu_inplace = True
BatchNorm2d = BatchNorm2d_class = nn.BatchNorm2d


def _stage(num_modules, num_branches, block, num_blocks, num_channels):
    return {
        'NUM_MODULES': num_modules,
        'NUM_BRANCHES': num_branches,
        'BLOCK': block,
        'NUM_BLOCKS': list(num_blocks),
        'NUM_CHANNELS': list(num_channels),
        'FUSE_METHOD': 'SUM',
    }


def _hrnet_extra(width):
    w = width
    return {
        'FINAL_CONV_KERNEL': 1,
        'STAGE1': _stage(1, 1, 'BOTTLENECK', [4], [64]),
        'STAGE2': _stage(1, 2, 'BASIC', [4, 4], [w, 2 * w]),
        'STAGE3': _stage(4, 3, 'BASIC', [4, 4, 4], [w, 2 * w, 4 * w]),
        'STAGE4': _stage(3, 4, 'BASIC', [4, 4, 4, 4],
                         [w, 2 * w, 4 * w, 8 * w]),
    }


#: Official-config-shaped presets. ``W48`` is
#: ``experiments/cityscapes/seg_hrnet_ocr_w48_train_512x1024_*.yaml`` merged on
#: the ``lib/config/default.py`` defaults (ALIGN_CORNERS True, OCR mid/key
#: channels 512/256, 19 classes); ``W18`` only changes the widths.
PRESETS = {
    'w18': {
        'MODEL': {
            'NAME': 'seg_hrnet_ocr',
            'ALIGN_CORNERS': True,
            'NUM_OUTPUTS': 2,
            'EXTRA': _hrnet_extra(18),
            'OCR': {
                'MID_CHANNELS': 512,
                'KEY_CHANNELS': 256,
                'DROPOUT': 0.05,
                'SCALE': 1
            },
        },
        'DATASET': {
            'NUM_CLASSES': 19
        },
    },
}
PRESETS['w48'] = copy.deepcopy(PRESETS['w18'])
PRESETS['w48']['MODEL']['EXTRA'] = _hrnet_extra(48)


def get_config(preset='w48', num_classes=None, align_corners=None):
    """Return a copy of an official-style config dict.

    Args:
        preset (str): ``'w18'`` or ``'w48'``.
        num_classes (int, optional): Overrides ``DATASET.NUM_CLASSES``.
        align_corners (bool, optional): Overrides ``MODEL.ALIGN_CORNERS``.

    Returns:
        dict: A nested dict shaped like the official yacs config.
    """
    cfg = copy.deepcopy(PRESETS[preset.lower()])
    if num_classes is not None:
        cfg['DATASET']['NUM_CLASSES'] = num_classes
    if align_corners is not None:
        cfg['MODEL']['ALIGN_CORNERS'] = align_corners
    return cfg


class ModuleHelper:

    @staticmethod
    def BNReLU(num_features, bn_type=None, **kwargs):
        return nn.Sequential(BatchNorm2d(num_features, **kwargs), nn.ReLU())

    @staticmethod
    def BatchNorm2d(*args, **kwargs):
        return BatchNorm2d


def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding."""
    return nn.Conv2d(
        in_planes,
        out_planes,
        kernel_size=3,
        stride=stride,
        padding=1,
        bias=False)


class SpatialGather_Module(nn.Module):
    """Aggregate the context features according to the initial predicted
    probability distribution (soft-weighted)."""

    def __init__(self, cls_num=0, scale=1):
        super().__init__()
        self.cls_num = cls_num
        self.scale = scale

    def forward(self, feats, probs):
        batch_size, c = probs.size(0), probs.size(1)
        probs = probs.view(batch_size, c, -1)
        feats = feats.view(batch_size, feats.size(1), -1)
        feats = feats.permute(0, 2, 1)  # batch x hw x c
        probs = F.softmax(self.scale * probs, dim=2)  # batch x k x hw
        ocr_context = torch.matmul(probs, feats)\
            .permute(0, 2, 1).unsqueeze(3)  # batch x c x k x 1
        return ocr_context


class _ObjectAttentionBlock(nn.Module):
    """Object context block (pixel query, object key/value)."""

    def __init__(self,
                 in_channels,
                 key_channels,
                 scale=1,
                 bn_type=None,
                 align_corners=True):
        super().__init__()
        self.scale = scale
        self.in_channels = in_channels
        self.key_channels = key_channels
        self.align_corners = align_corners
        self.pool = nn.MaxPool2d(kernel_size=(scale, scale))
        self.f_pixel = nn.Sequential(
            nn.Conv2d(self.in_channels, self.key_channels, 1, 1, 0,
                      bias=False),
            ModuleHelper.BNReLU(self.key_channels, bn_type=bn_type),
            nn.Conv2d(self.key_channels, self.key_channels, 1, 1, 0,
                      bias=False),
            ModuleHelper.BNReLU(self.key_channels, bn_type=bn_type),
        )
        self.f_object = nn.Sequential(
            nn.Conv2d(self.in_channels, self.key_channels, 1, 1, 0,
                      bias=False),
            ModuleHelper.BNReLU(self.key_channels, bn_type=bn_type),
            nn.Conv2d(self.key_channels, self.key_channels, 1, 1, 0,
                      bias=False),
            ModuleHelper.BNReLU(self.key_channels, bn_type=bn_type),
        )
        self.f_down = nn.Sequential(
            nn.Conv2d(self.in_channels, self.key_channels, 1, 1, 0,
                      bias=False),
            ModuleHelper.BNReLU(self.key_channels, bn_type=bn_type),
        )
        self.f_up = nn.Sequential(
            nn.Conv2d(self.key_channels, self.in_channels, 1, 1, 0,
                      bias=False),
            ModuleHelper.BNReLU(self.in_channels, bn_type=bn_type),
        )

    def forward(self, x, proxy):
        batch_size, h, w = x.size(0), x.size(2), x.size(3)
        if self.scale > 1:
            x = self.pool(x)

        query = self.f_pixel(x).view(batch_size, self.key_channels, -1)
        query = query.permute(0, 2, 1)
        key = self.f_object(proxy).view(batch_size, self.key_channels, -1)
        value = self.f_down(proxy).view(batch_size, self.key_channels, -1)
        value = value.permute(0, 2, 1)

        sim_map = torch.matmul(query, key)
        sim_map = (self.key_channels**-.5) * sim_map
        sim_map = F.softmax(sim_map, dim=-1)

        context = torch.matmul(sim_map, value)
        context = context.permute(0, 2, 1).contiguous()
        context = context.view(batch_size, self.key_channels, *x.size()[2:])
        context = self.f_up(context)
        if self.scale > 1:
            context = F.interpolate(
                input=context,
                size=(h, w),
                mode='bilinear',
                align_corners=self.align_corners)
        return context


class ObjectAttentionBlock2D(_ObjectAttentionBlock):
    pass


class SpatialOCR_Module(nn.Module):
    """OCR module: aggregate the object representations into each pixel."""

    def __init__(self,
                 in_channels,
                 key_channels,
                 out_channels,
                 scale=1,
                 dropout=0.1,
                 bn_type=None,
                 align_corners=True):
        super().__init__()
        self.object_context_block = ObjectAttentionBlock2D(
            in_channels,
            key_channels,
            scale,
            bn_type,
            align_corners=align_corners)
        _in_channels = 2 * in_channels
        self.conv_bn_dropout = nn.Sequential(
            nn.Conv2d(
                _in_channels, out_channels, kernel_size=1, padding=0,
                bias=False),
            ModuleHelper.BNReLU(out_channels, bn_type=bn_type),
            nn.Dropout2d(dropout))

    def forward(self, feats, proxy_feats):
        context = self.object_context_block(feats, proxy_feats)
        output = self.conv_bn_dropout(torch.cat([context, feats], 1))
        return output


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=relu_inplace)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            residual = self.downsample(x)
        out = out + residual
        out = self.relu(out)
        return out


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(
            planes, planes, kernel_size=3, stride=stride, padding=1,
            bias=False)
        self.bn2 = BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv3 = nn.Conv2d(
            planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = BatchNorm2d(planes * self.expansion, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=relu_inplace)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv3(out)
        out = self.bn3(out)
        if self.downsample is not None:
            residual = self.downsample(x)
        out = out + residual
        out = self.relu(out)
        return out


class HighResolutionModule(nn.Module):

    def __init__(self,
                 num_branches,
                 blocks,
                 num_blocks,
                 num_inchannels,
                 num_channels,
                 fuse_method,
                 multi_scale_output=True,
                 align_corners=True):
        super().__init__()
        self._check_branches(num_branches, blocks, num_blocks,
                             num_inchannels, num_channels)
        self.num_inchannels = num_inchannels
        self.fuse_method = fuse_method
        self.num_branches = num_branches
        self.multi_scale_output = multi_scale_output
        self.align_corners = align_corners

        self.branches = self._make_branches(num_branches, blocks, num_blocks,
                                            num_channels)
        self.fuse_layers = self._make_fuse_layers()
        self.relu = nn.ReLU(inplace=relu_inplace)

    def _check_branches(self, num_branches, blocks, num_blocks,
                        num_inchannels, num_channels):
        for name, seq in (('NUM_BLOCKS', num_blocks),
                          ('NUM_CHANNELS', num_channels),
                          ('NUM_INCHANNELS', num_inchannels)):
            if num_branches != len(seq):
                raise ValueError(
                    f'NUM_BRANCHES({num_branches}) <> {name}({len(seq)})')

    def _make_one_branch(self,
                         branch_index,
                         block,
                         num_blocks,
                         num_channels,
                         stride=1):
        downsample = None
        if stride != 1 or self.num_inchannels[branch_index] != \
                num_channels[branch_index] * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(
                    self.num_inchannels[branch_index],
                    num_channels[branch_index] * block.expansion,
                    kernel_size=1,
                    stride=stride,
                    bias=False),
                BatchNorm2d(
                    num_channels[branch_index] * block.expansion,
                    momentum=BN_MOMENTUM),
            )
        layers = [
            block(self.num_inchannels[branch_index],
                  num_channels[branch_index], stride, downsample)
        ]
        self.num_inchannels[branch_index] = \
            num_channels[branch_index] * block.expansion
        for _ in range(1, num_blocks[branch_index]):
            layers.append(
                block(self.num_inchannels[branch_index],
                      num_channels[branch_index]))
        return nn.Sequential(*layers)

    def _make_branches(self, num_branches, block, num_blocks, num_channels):
        return nn.ModuleList([
            self._make_one_branch(i, block, num_blocks, num_channels)
            for i in range(num_branches)
        ])

    def _make_fuse_layers(self):
        if self.num_branches == 1:
            return None
        num_branches = self.num_branches
        num_inchannels = self.num_inchannels
        fuse_layers = []
        for i in range(num_branches if self.multi_scale_output else 1):
            fuse_layer = []
            for j in range(num_branches):
                if j > i:
                    fuse_layer.append(
                        nn.Sequential(
                            nn.Conv2d(num_inchannels[j], num_inchannels[i], 1,
                                      1, 0, bias=False),
                            BatchNorm2d(
                                num_inchannels[i], momentum=BN_MOMENTUM)))
                elif j == i:
                    fuse_layer.append(None)
                else:
                    conv3x3s = []
                    for k in range(i - j):
                        if k == i - j - 1:
                            num_outchannels_conv3x3 = num_inchannels[i]
                            conv3x3s.append(
                                nn.Sequential(
                                    nn.Conv2d(num_inchannels[j],
                                              num_outchannels_conv3x3, 3, 2,
                                              1, bias=False),
                                    BatchNorm2d(
                                        num_outchannels_conv3x3,
                                        momentum=BN_MOMENTUM)))
                        else:
                            num_outchannels_conv3x3 = num_inchannels[j]
                            conv3x3s.append(
                                nn.Sequential(
                                    nn.Conv2d(num_inchannels[j],
                                              num_outchannels_conv3x3, 3, 2,
                                              1, bias=False),
                                    BatchNorm2d(
                                        num_outchannels_conv3x3,
                                        momentum=BN_MOMENTUM),
                                    nn.ReLU(inplace=relu_inplace)))
                    fuse_layer.append(nn.Sequential(*conv3x3s))
            fuse_layers.append(nn.ModuleList(fuse_layer))
        return nn.ModuleList(fuse_layers)

    def get_num_inchannels(self):
        return self.num_inchannels

    def forward(self, x):
        if self.num_branches == 1:
            return [self.branches[0](x[0])]

        for i in range(self.num_branches):
            x[i] = self.branches[i](x[i])

        x_fuse = []
        for i in range(len(self.fuse_layers)):
            y = x[0] if i == 0 else self.fuse_layers[i][0](x[0])
            for j in range(1, self.num_branches):
                if i == j:
                    y = y + x[j]
                elif j > i:
                    width_output = x[i].shape[-1]
                    height_output = x[i].shape[-2]
                    y = y + F.interpolate(
                        self.fuse_layers[i][j](x[j]),
                        size=[height_output, width_output],
                        mode='bilinear',
                        align_corners=self.align_corners)
                else:
                    y = y + self.fuse_layers[i][j](x[j])
            x_fuse.append(self.relu(y))
        return x_fuse


blocks_dict = {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}


class HighResolutionNet(nn.Module):
    """Official ``seg_hrnet_ocr`` model: HRNetV2 backbone + OCR head.

    Args:
        config (dict): Official-style config (see :func:`get_config`); uses
            ``MODEL.EXTRA``, ``MODEL.OCR.MID_CHANNELS``,
            ``MODEL.OCR.KEY_CHANNELS`` and ``DATASET.NUM_CLASSES``.
        align_corners (bool, optional): ``align_corners`` of every bilinear
            interpolation (fuse layers, feature concatenation). Defaults to
            ``config['MODEL']['ALIGN_CORNERS']`` (official default True).

    Returns from ``forward``:
        list[Tensor]: ``[out_aux, out]``, both (N, num_classes, H/4, W/4):
        the soft-object-region logits of ``aux_head`` and the OCR logits of
        ``cls_head``.
    """

    def __init__(self, config, align_corners=None, **kwargs):
        super().__init__()
        extra = config['MODEL']['EXTRA']
        if align_corners is None:
            align_corners = config['MODEL'].get('ALIGN_CORNERS', True)
        self.align_corners = align_corners

        # stem net
        self.conv1 = nn.Conv2d(
            3, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(
            64, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn2 = BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=relu_inplace)

        self.stage1_cfg = extra['STAGE1']
        num_channels = self.stage1_cfg['NUM_CHANNELS'][0]
        block = blocks_dict[self.stage1_cfg['BLOCK']]
        num_blocks = self.stage1_cfg['NUM_BLOCKS'][0]
        self.layer1 = self._make_layer(block, 64, num_channels, num_blocks)
        stage1_out_channel = block.expansion * num_channels

        self.stage2_cfg = extra['STAGE2']
        num_channels = self.stage2_cfg['NUM_CHANNELS']
        block = blocks_dict[self.stage2_cfg['BLOCK']]
        num_channels = [c * block.expansion for c in num_channels]
        self.transition1 = self._make_transition_layer([stage1_out_channel],
                                                       num_channels)
        self.stage2, pre_stage_channels = self._make_stage(
            self.stage2_cfg, num_channels)

        self.stage3_cfg = extra['STAGE3']
        num_channels = self.stage3_cfg['NUM_CHANNELS']
        block = blocks_dict[self.stage3_cfg['BLOCK']]
        num_channels = [c * block.expansion for c in num_channels]
        self.transition2 = self._make_transition_layer(
            pre_stage_channels, num_channels)
        self.stage3, pre_stage_channels = self._make_stage(
            self.stage3_cfg, num_channels)

        self.stage4_cfg = extra['STAGE4']
        num_channels = self.stage4_cfg['NUM_CHANNELS']
        block = blocks_dict[self.stage4_cfg['BLOCK']]
        num_channels = [c * block.expansion for c in num_channels]
        self.transition3 = self._make_transition_layer(
            pre_stage_channels, num_channels)
        self.stage4, pre_stage_channels = self._make_stage(
            self.stage4_cfg, num_channels, multi_scale_output=True)

        last_inp_channels = int(sum(pre_stage_channels))
        ocr_mid_channels = config['MODEL']['OCR']['MID_CHANNELS']
        ocr_key_channels = config['MODEL']['OCR']['KEY_CHANNELS']
        num_classes = config['DATASET']['NUM_CLASSES']

        self.conv3x3_ocr = nn.Sequential(
            nn.Conv2d(
                last_inp_channels,
                ocr_mid_channels,
                kernel_size=3,
                stride=1,
                padding=1),
            BatchNorm2d(ocr_mid_channels),
            nn.ReLU(inplace=relu_inplace),
        )
        self.ocr_gather_head = SpatialGather_Module(num_classes)

        self.ocr_distri_head = SpatialOCR_Module(
            in_channels=ocr_mid_channels,
            key_channels=ocr_key_channels,
            out_channels=ocr_mid_channels,
            scale=1,
            dropout=0.05,
            align_corners=align_corners)
        self.cls_head = nn.Conv2d(
            ocr_mid_channels,
            num_classes,
            kernel_size=1,
            stride=1,
            padding=0,
            bias=True)

        self.aux_head = nn.Sequential(
            nn.Conv2d(
                last_inp_channels,
                last_inp_channels,
                kernel_size=1,
                stride=1,
                padding=0),
            BatchNorm2d(last_inp_channels),
            nn.ReLU(inplace=relu_inplace),
            nn.Conv2d(
                last_inp_channels,
                num_classes,
                kernel_size=1,
                stride=1,
                padding=0,
                bias=True))

    def _make_transition_layer(self, num_channels_pre_layer,
                               num_channels_cur_layer):
        num_branches_cur = len(num_channels_cur_layer)
        num_branches_pre = len(num_channels_pre_layer)

        transition_layers = []
        for i in range(num_branches_cur):
            if i < num_branches_pre:
                if num_channels_cur_layer[i] != num_channels_pre_layer[i]:
                    transition_layers.append(
                        nn.Sequential(
                            nn.Conv2d(num_channels_pre_layer[i],
                                      num_channels_cur_layer[i], 3, 1, 1,
                                      bias=False),
                            BatchNorm2d(
                                num_channels_cur_layer[i],
                                momentum=BN_MOMENTUM),
                            nn.ReLU(inplace=relu_inplace)))
                else:
                    transition_layers.append(None)
            else:
                conv3x3s = []
                for j in range(i + 1 - num_branches_pre):
                    inchannels = num_channels_pre_layer[-1]
                    outchannels = num_channels_cur_layer[i] \
                        if j == i - num_branches_pre else inchannels
                    conv3x3s.append(
                        nn.Sequential(
                            nn.Conv2d(inchannels, outchannels, 3, 2, 1,
                                      bias=False),
                            BatchNorm2d(outchannels, momentum=BN_MOMENTUM),
                            nn.ReLU(inplace=relu_inplace)))
                transition_layers.append(nn.Sequential(*conv3x3s))
        return nn.ModuleList(transition_layers)

    def _make_layer(self, block, inplanes, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(
                    inplanes,
                    planes * block.expansion,
                    kernel_size=1,
                    stride=stride,
                    bias=False),
                BatchNorm2d(planes * block.expansion, momentum=BN_MOMENTUM),
            )
        layers = [block(inplanes, planes, stride, downsample)]
        inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(inplanes, planes))
        return nn.Sequential(*layers)

    def _make_stage(self, layer_config, num_inchannels,
                    multi_scale_output=True):
        num_modules = layer_config['NUM_MODULES']
        num_branches = layer_config['NUM_BRANCHES']
        num_blocks = layer_config['NUM_BLOCKS']
        num_channels = layer_config['NUM_CHANNELS']
        block = blocks_dict[layer_config['BLOCK']]
        fuse_method = layer_config['FUSE_METHOD']

        modules = []
        for i in range(num_modules):
            # multi_scale_output is only used by the last module
            reset_multi_scale_output = not (not multi_scale_output
                                            and i == num_modules - 1)
            modules.append(
                HighResolutionModule(
                    num_branches,
                    block,
                    num_blocks,
                    num_inchannels,
                    num_channels,
                    fuse_method,
                    reset_multi_scale_output,
                    align_corners=self.align_corners))
            num_inchannels = modules[-1].get_num_inchannels()
        return nn.Sequential(*modules), num_inchannels

    def backbone_features(self, x):
        """Return the four HRNet branch outputs (1/4 ... 1/32 resolution)."""
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.conv2(x)
        x = self.bn2(x)
        x = self.relu(x)
        x = self.layer1(x)

        x_list = []
        for i in range(self.stage2_cfg['NUM_BRANCHES']):
            if self.transition1[i] is not None:
                x_list.append(self.transition1[i](x))
            else:
                x_list.append(x)
        y_list = self.stage2(x_list)

        x_list = []
        for i in range(self.stage3_cfg['NUM_BRANCHES']):
            if self.transition2[i] is not None:
                if i < self.stage2_cfg['NUM_BRANCHES']:
                    x_list.append(self.transition2[i](y_list[i]))
                else:
                    x_list.append(self.transition2[i](y_list[-1]))
            else:
                x_list.append(y_list[i])
        y_list = self.stage3(x_list)

        x_list = []
        for i in range(self.stage4_cfg['NUM_BRANCHES']):
            if self.transition3[i] is not None:
                if i < self.stage3_cfg['NUM_BRANCHES']:
                    x_list.append(self.transition3[i](y_list[i]))
                else:
                    x_list.append(self.transition3[i](y_list[-1]))
            else:
                x_list.append(y_list[i])
        return self.stage4(x_list)

    def forward(self, x):
        x = self.backbone_features(x)

        # Upsampling
        x0_h, x0_w = x[0].size(2), x[0].size(3)
        x1 = F.interpolate(
            x[1], size=(x0_h, x0_w), mode='bilinear',
            align_corners=self.align_corners)
        x2 = F.interpolate(
            x[2], size=(x0_h, x0_w), mode='bilinear',
            align_corners=self.align_corners)
        x3 = F.interpolate(
            x[3], size=(x0_h, x0_w), mode='bilinear',
            align_corners=self.align_corners)

        feats = torch.cat([x[0], x1, x2, x3], 1)

        out_aux_seg = []

        # ocr
        out_aux = self.aux_head(feats)
        # compute contrast feature
        feats = self.conv3x3_ocr(feats)

        context = self.ocr_gather_head(feats, out_aux)
        feats = self.ocr_distri_head(feats, context)

        out = self.cls_head(feats)

        out_aux_seg.append(out_aux)
        out_aux_seg.append(out)
        return out_aux_seg

    def init_weights(self):
        """Official random init: N(0, 0.001) convs and unit BN outside the
        OCR / cls / aux heads (no pretrained weights are loaded here)."""
        for name, m in self.named_modules():
            if any(part in name for part in {'cls', 'aux', 'ocr'}):
                continue
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.001)
            elif isinstance(m, BatchNorm2d_class):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


def get_seg_model(cfg, align_corners=None, **kwargs):
    """Build the official model like ``seg_hrnet_ocr.get_seg_model`` (without
    loading ``MODEL.PRETRAINED``).

    Args:
        cfg (dict): Official-style config (see :func:`get_config`).
        align_corners (bool, optional): See :class:`HighResolutionNet`.

    Returns:
        HighResolutionNet: The model, official-initialised.
    """
    model = HighResolutionNet(cfg, align_corners=align_corners, **kwargs)
    model.init_weights()
    return model


class FullModel(nn.Module):
    """The official training wrapper (``lib/utils/utils.py``): model + loss.

    Its ``state_dict`` is what the official ``train.py`` saves as
    ``final_state.pth`` / ``checkpoint.pth.tar['state_dict']``: every model
    key prefixed with ``model.``, plus the criterion's ``loss.*`` buffers
    (e.g. the class weights of the cityscapes cross-entropy).
    """

    def __init__(self, model, loss):
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(self, inputs, labels, *args, **kwargs):
        outputs = self.model(inputs, *args, **kwargs)
        loss = self.loss(outputs, labels)
        return torch.unsqueeze(loss, 0), outputs

"""HRNet backbone, one implementation for MMSegmentation and MMDetection."""
import copy
import warnings
from typing import List, Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule, Sequential
from mmengine.model.weight_init import constant_init
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmseg.models.backbones.resnet import BasicBlock, Bottleneck

from hrseg_plugin.registry import MODELS
from ..layers.hr_module import HRModule, make_res_layer
from ..layers.hr_transition_layer import HRTransitionLayer
from ..layers.resize_to import check_upsample_cfg
from ..speedups import enable_speedups
from .hrnet_arch import ARCH_SETTINGS, check_extra
from .input_check import check_image_input

BLOCKS = {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}
# plugin positions of each block type (mmseg's Bottleneck; our
# PluginBasicBlock, which make_res_layer builds for BASIC with plugins)
PLUGIN_POSITIONS = {
    'BASIC': ('after_conv1', 'after_conv2'),
    'BOTTLENECK': ('after_conv1', 'after_conv2', 'after_conv3')
}


def stage_plugins(plugins: Optional[List[dict]], stage: int,
                  block: str) -> Optional[List[dict]]:
    """The plugins of HRNet stage ``stage`` (1..4) whose blocks are
    ``block``, as ``dict(cfg, position)`` items (mmseg's ResNet format:
    ``stages``, four bools, selects stages; missing, all of them)."""
    selected = []
    for plugin in plugins or []:
        plugin = dict(plugin)
        stages = plugin.pop('stages', None)
        if stages is not None and len(stages) != 4:
            raise ValueError('HRNet: a plugin\'s stages must have 4 entries '
                             f'(one per stage), got {stages}')
        if stages is not None and not stages[stage - 1]:
            continue
        position = plugin.get('position')
        if position not in PLUGIN_POSITIONS[block]:
            raise ValueError(
                f'HRNet: plugin position {position!r} is not supported by '
                f'the {block} blocks of stage {stage}; use one of '
                f'{PLUGIN_POSITIONS[block]}')
        selected.append(plugin)
    return selected or None


@MODELS.register_module()
class HRNet(BaseModule):
    """HRNet backbone (HRNetV1/V2/V2p share it; the representation heads are
    necks).

    Implements Sun et al., "Deep High-Resolution Representation Learning for
    Visual Recognition" (TPAMI 2020, https://arxiv.org/abs/1908.07919):
    a stride-4 stem, then four stages that keep a high-resolution branch and
    add one lower-resolution branch per stage, fusing across branches in
    every module. The parameter names are those of stock mmseg/mmdet HRNet
    and of the official HRNet code, so their checkpoints load as they are.

    Differences from stock mmseg/mmdet ``HRNet``, all opt-in through
    arguments except the first:

    - the fuse upsamples with one interpolation straight to the target size
      (stock mmseg interpolates twice; same outputs on sizes divisible by
      32, and exact on odd sizes);
    - ``upsample_cfg`` picks the fuse interpolation: the default reproduces
      stock mmseg (bilinear, ``align_corners=False``); ``mode='nearest'``
      reproduces stock mmdet; ``align_corners=True`` the official code;
    - ``transition_mode='all'`` builds new branches from every previous
      branch, as the paper's figure, instead of from the last one;
    - ``arch`` selects a preset width instead of writing ``extra``;
    - ``zero_init_residual`` really zero-initializes the last norm of every
      residual block (stock's check never fires).

    Args:
        arch (str, optional): A preset, one of ``ARCH_SETTINGS``:
            ``w18_small_v1``, ``w18_small_v2``, ``w18``, ``w30``, ``w32``,
            ``w40``, ``w44``, ``w48``, ``w64``. Ignored when ``extra`` is
            given.
        extra (dict, optional): Stage configs as in stock configs:
            ``stage1`` .. ``stage4``, each with ``num_modules``,
            ``num_branches``, ``block`` ('BASIC' | 'BOTTLENECK'),
            ``num_blocks`` and ``num_channels`` (one entry per branch).
        in_channels (int): Input image channels. Default: 3.
        conv_cfg (dict, optional): Conv layer config. Default: None.
        norm_cfg (dict): Norm layer config. Default: BN.
        norm_eval (bool): Keep norm layers in eval mode while training.
        with_cp (bool): Gradient checkpointing in the residual blocks.
        frozen_stages (int): Freeze the stem (0) and stages up to this one;
            -1 freezes nothing.
        zero_init_residual (bool): Zero-init the last norm of each block.
        multiscale_output (bool): Output all branches (True) or only the
            highest-resolution one (False).
        upsample_cfg (dict, optional): ``dict(mode, align_corners)`` of the
            fuse upsampling. Default: bilinear, ``align_corners=False``.
        transition_mode (str): ``'last'`` (official code) or ``'all'``
            (paper figure).
        plugins (list[dict], optional): mmcv plugins of the residual blocks
            in mmseg ResNet's format, e.g. ``[dict(cfg=dict(type=
            'hrseg_plugin.SPM'), stages=(False, True, True, True),
            position='after_conv1')]``: every block of every branch of the
            selected stages gets one. Positions: ``after_conv1``,
            ``after_conv2``, ``after_conv3`` in BOTTLENECK blocks (stock
            mmseg ``Bottleneck``), ``after_conv1`` (between the 3x3 convs),
            ``after_conv2`` (before the residual add) in BASIC blocks
            (:class:`PluginBasicBlock`); others raise a ValueError. None
            (default): no plugins.
        channels_last (bool): Run the network in the ``channels_last``
            memory format (conv weights stored so, the input converted at
            entry; every conv, norm, interpolation and sum keeps the layout).
            Same values as the default layout to float rounding, and faster
            on CPU (``tools/benchmark.py``). Default: True.
        out_channels_last (bool): Keep ``channels_last`` in the returned
            features, so that the heads run in it too (faster). Only for
            consumers whose ops accept any layout, such as mmseg's
            pure-PyTorch decode heads (our segmentation configs set it);
            mmcv's compiled ops (RoIAlign of two-stage detectors, ...)
            assume the default layout and give wrong values on
            ``channels_last`` input, so by default (False) the features are
            returned in the default layout. (Both implement the layout rule
            of :mod:`hrseg_plugin.models.speedups.memory_format`.)
        pretrained (str, optional): Deprecated, use ``init_cfg``.
        init_cfg (dict | list[dict], optional): Initialization config, e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

    Returns (of ``forward``):
        list[Tensor]: The branch features, highest resolution first: for
        input (N, C, H, W), branch ``i`` is (N, C_i, ceil(H / 2**(i+2)),
        ceil(W / 2**(i+2))) with ``C_i`` the stage-4 channels times the
        block expansion.
    """

    arch_settings = ARCH_SETTINGS

    def __init__(self,
                 arch: Optional[str] = None,
                 extra: Optional[dict] = None,
                 in_channels: int = 3,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 frozen_stages: int = -1,
                 zero_init_residual: bool = False,
                 multiscale_output: bool = True,
                 upsample_cfg: Optional[dict] = None,
                 transition_mode: str = 'last',
                 plugins: Optional[List[dict]] = None,
                 channels_last: bool = True,
                 out_channels_last: bool = False,
                 pretrained: Optional[str] = None,
                 init_cfg=None):
        if init_cfg is not None and pretrained is not None:
            raise ValueError('HRNet: give init_cfg or pretrained, not both '
                             '(pretrained is deprecated)')
        if isinstance(pretrained, str):
            warnings.warn('HRNet: pretrained is deprecated, use '
                          "init_cfg=dict(type='Pretrained', checkpoint=...)")
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        elif pretrained is not None:
            raise TypeError('HRNet: pretrained must be a str or None, got '
                            f'{type(pretrained).__name__}')
        elif init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d'),
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ]
        super().__init__(init_cfg)

        if extra is None:
            if arch not in ARCH_SETTINGS:
                raise ValueError(
                    f'HRNet: arch={arch!r} is not a known preset; use one of '
                    f'{sorted(ARCH_SETTINGS)} or give a full extra dict')
            extra = ARCH_SETTINGS[arch]
        check_extra(extra)
        check_upsample_cfg(upsample_cfg, 'HRNet')
        if frozen_stages not in range(-1, 5):
            raise ValueError('HRNet: frozen_stages must be in -1..4, got '
                             f'{frozen_stages}')
        self.extra = copy.deepcopy(extra)
        self.in_channels = in_channels
        self.channels_last = channels_last
        self.out_channels_last = out_channels_last
        # the lowest branch is at 1/(4 * 2**(branches - 1)) of the input
        self.total_stride = 4 * 2**(self.extra['stage4']['num_branches'] - 1)
        self.norm_eval = norm_eval
        self.frozen_stages = frozen_stages
        self.zero_init_residual = zero_init_residual

        # stem: two stride-2 3x3 convs to 1/4 resolution, 64 channels
        self.conv1 = build_conv_layer(
            conv_cfg, in_channels, 64, 3, stride=2, padding=1, bias=False)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, 64, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(
            conv_cfg, 64, 64, 3, stride=2, padding=1, bias=False)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, 64, postfix=2)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)

        stage1 = self.extra['stage1']
        block = BLOCKS[stage1['block']]
        self.layer1 = make_res_layer(
            block, 64, stage1['num_channels'][0], stage1['num_blocks'][0], 1,
            with_cp, conv_cfg, norm_cfg,
            plugins=stage_plugins(plugins, 1, stage1['block']))
        channels = [stage1['num_channels'][0] * block.expansion]

        for k in (2, 3, 4):
            cfg = self.extra[f'stage{k}']
            block = BLOCKS[cfg['block']]
            stage_in = [c * block.expansion for c in cfg['num_channels']]
            self.add_module(
                f'transition{k - 1}',
                HRTransitionLayer(channels, stage_in, transition_mode,
                                  conv_cfg, norm_cfg))
            modules = []
            for m in range(cfg['num_modules']):
                last = k == 4 and m == cfg['num_modules'] - 1
                module = HRModule(
                    block,
                    cfg['num_blocks'],
                    stage_in,
                    cfg['num_channels'],
                    multiscale_output=multiscale_output or not last,
                    with_cp=with_cp,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    upsample_cfg=upsample_cfg,
                    plugins=stage_plugins(plugins, k, cfg['block']))
                stage_in = module.out_channels
                modules.append(module)
            self.add_module(f'stage{k}', Sequential(*modules))
            channels = stage_in
        self.out_channels = channels if multiscale_output else channels[:1]
        self._freeze_stages()
        enable_speedups(self, channels_last=channels_last,
                        contiguous_outputs=not out_channels_last)

    @property
    def norm1(self) -> nn.Module:
        """The norm layer of the first stem conv."""
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        """The norm layer of the second stem conv."""
        return getattr(self, self.norm2_name)

    def init_weights(self):
        """Initialize by ``init_cfg``, then zero the last norm of each
        residual block when ``zero_init_residual`` and not pretrained."""
        super().init_weights()
        pretrained = isinstance(self.init_cfg, dict) and \
            self.init_cfg.get('type') == 'Pretrained'
        if self.zero_init_residual and not pretrained:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    constant_init(m.norm3, 0)
                elif isinstance(m, BasicBlock):
                    constant_init(m.norm2, 0)

    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        mods = [self.conv1, self.norm1, self.conv2, self.norm2]
        for k in range(1, self.frozen_stages + 1):
            mods.append(self.layer1 if k == 1 else getattr(self, f'stage{k}'))
            if k < 4:
                mods.append(getattr(self, f'transition{k}'))
        return mods

    def _freeze_stages(self):
        """Stop gradients and norm statistics of the frozen stages."""
        for m in self._frozen_modules():
            m.eval()
            for param in m.parameters():
                param.requires_grad = False

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Compute the branch features.

        Args:
            x (Tensor): Images, (N, C, H, W): C must be ``in_channels``,
                else a ValueError says so; any H, W >= 1 (below
                ``total_stride`` the low-resolution branches are 1x1).

        Returns:
            list[Tensor]: Branch features, highest resolution first.
        """
        check_image_input(x, self.in_channels, 'HRNet')
        x = self.relu(self.norm1(self.conv1(x)))
        x = self.relu(self.norm2(self.conv2(x)))
        xs = [self.layer1(x)]
        for k in (2, 3, 4):
            xs = getattr(self, f'transition{k - 1}')(xs)
            xs = getattr(self, f'stage{k}')(xs)
        return xs

    def train(self, mode: bool = True):
        """Switch mode, keeping frozen stages and (``norm_eval``) all norm
        layers in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

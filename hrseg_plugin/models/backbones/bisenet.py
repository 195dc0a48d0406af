"""BiSeNet backbone: spatial path + context path on any backbone."""
from typing import Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule

from hrseg_plugin.registry import MODELS
from ..layers.context_path import ContextPath
from ..layers.spatial_path import SPATIAL_PATH_VARIANTS, SpatialPath
from ..speedups import enable_speedups
from .input_check import check_image_input


@MODELS.register_module()
class BiSeNet(BaseModule):
    """The two paths of BiSeNet (Yu et al., "BiSeNet: Bilateral Segmentation
    Network for Real-time Semantic Segmentation", ECCV 2018,
    https://arxiv.org/abs/1808.00897).

    The spatial path keeps detail at 1/8 resolution; the context path puts
    attention-refined 1/16 and 1/32 features of any registered backbone
    (``backbone_cfg``) on top of a global-pooling context. The Feature
    Fusion Module is a decode head (``hrseg_plugin.FFMHead``), not part of
    the backbone as in stock mmseg's ``BiSeNetV1``; the two context
    features feed the two auxiliary heads of the paper (stock ``FCNHead``).

    Parameter names follow stock mmseg's ``BiSeNetV1`` (``spatial_path.*``,
    ``context_path.{backbone,arm16,arm32,conv_head16,conv_head32,gap_conv}``)
    so its checkpoints map by a few renames
    (``tools/convert_weights.py --from mmseg``).

    Args:
        backbone_cfg (dict): Context backbone; must output a 1/16 and a 1/32
            feature (checked at build time, ``ValueError`` otherwise).
        in_channels (int): Input image channels. Default: 3.
        spatial_variant (str): Spatial path layers, a key of
            ``SPATIAL_PATH_VARIANTS``: ``'paper'`` (three stride-2 3x3
            layers) or ``'coincheung'`` (7x7/2, 3x3/2, 3x3/2, 1x1, as
            CoinCheung/BiSeNet and stock mmseg).
        spatial_channels (Sequence[int], optional): Width of each spatial
            layer; default: the variant's.
        context_channels (int): Width of the context path (ARMs and heads).
            Default: 128.
        upsample_cfg (dict, optional): Context path upsampling,
            ``dict(mode, align_corners)``; default nearest, as stock mmseg.
        conv_cfg (dict, optional): Conv layer config.
        norm_cfg (dict): Norm layer config of both paths (the context
            backbone has its own in ``backbone_cfg``).
        act_cfg (dict): Activation config.
        channels_last (bool): Run both paths (the context backbone too) in
            the ``channels_last`` memory format: the input is converted
            once and every layer keeps the layout; the conv weights are
            stored ``channels_last`` as well (the layout rule of
            :mod:`hrseg_plugin.models.speedups.memory_format`). Same values
            to float rounding, faster on CPU (``tools/benchmark.py``).
            Default: True.
        init_cfg (dict | list[dict], optional): Initialization config;
            None keeps the conv / norm layers' own initialization. The
            context backbone is initialized after, with its own ``init_cfg``
            (e.g. pretrained weights).

    Returns (of ``forward``):
        tuple[Tensor]: For an (N, C, H, W) image, with h = ceil(H / 8),
        w = ceil(W / 8):

        - the spatial feature, (N, spatial_channels[-1], h, w);
        - the context feature of the 1/16 branch, (N, context_channels,
          h, w): the FFM's second input and the first auxiliary head's;
        - the context feature of the 1/32 branch, (N, context_channels,
          H16, W16) at the backbone's 1/16 size: the second auxiliary head's.
    """

    def __init__(self,
                 backbone_cfg: dict,
                 in_channels: int = 3,
                 spatial_variant: str = 'paper',
                 spatial_channels: Optional[Sequence[int]] = None,
                 context_channels: int = 128,
                 upsample_cfg: Optional[dict] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU'),
                 channels_last: bool = True,
                 init_cfg=None):
        super().__init__(init_cfg)
        if spatial_variant not in SPATIAL_PATH_VARIANTS:
            raise ValueError(
                f'BiSeNet: spatial_variant={spatial_variant!r} is not known; '
                f'use one of {sorted(SPATIAL_PATH_VARIANTS)}')
        variant = dict(SPATIAL_PATH_VARIANTS[spatial_variant])
        if spatial_channels is not None:
            if len(spatial_channels) != len(variant['channels']):
                raise ValueError(
                    f'BiSeNet: spatial_channels={tuple(spatial_channels)} '
                    f'needs {len(variant["channels"])} entries for '
                    f'spatial_variant={spatial_variant!r}')
            variant['channels'] = tuple(spatial_channels)
        if not (isinstance(context_channels, int) and context_channels > 0):
            raise ValueError('BiSeNet: context_channels must be a positive '
                             f'int (the ARM width), got {context_channels!r}')
        self.spatial_path = SpatialPath(in_channels, **variant,
                                        conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                        act_cfg=act_cfg)
        self.context_path = ContextPath(
            backbone_cfg, context_channels, in_channels, upsample_cfg,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.out_channels = (self.spatial_path.out_channels,
                             context_channels, context_channels)
        self.in_channels = in_channels
        self.channels_last = channels_last
        # the context path's deepest feature is 1/32 (smaller inputs give
        # 1x1 features there, as in stock BiSeNetV1)
        self.total_stride = 32
        enable_speedups(self, channels_last=channels_last)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Run both paths.

        Args:
            x (Tensor): Image, (N, C, H, W).

        Returns:
            tuple[Tensor, Tensor, Tensor]: Spatial feature, 1/16-branch and
            1/32-branch context features (see the class docstring).
        """
        check_image_input(x, self.in_channels, 'BiSeNet')
        spatial = self.spatial_path(x)
        context16, context32 = self.context_path(x, spatial.shape[2:])
        return spatial, context16, context32

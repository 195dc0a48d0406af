"""mmseg's ``BasicBlock`` with mmcv plugins (``PluginBasicBlock``)."""
from typing import List, Optional

import torch
import torch.utils.checkpoint as cp
from mmcv.cnn import build_plugin_layer
from mmseg.models.backbones.resnet import BasicBlock


class PluginBasicBlock(BasicBlock):
    """Stock mmseg ``BasicBlock`` (same parameters and names) that also
    takes mmcv plugins, which stock mmseg/mmdet refuse for basic blocks.
    HRNet builds its basic blocks from this class when it has plugins.

    Positions, as in mmseg's ``Bottleneck``:

    - ``after_conv1``: after conv1 + norm1 + ReLU, between the two 3x3
      convs (the place of a Bottleneck's ``after_conv2``, where SPNet puts
      its strip pooling module), ``planes`` channels;
    - ``after_conv2``: after conv2 + norm2, before the residual add (the
      place of a Bottleneck's ``after_conv3``), ``planes`` channels.

    Several plugins at one position run one after the other (stock mmseg's
    ``Bottleneck`` feeds each the same input and keeps the last output;
    mmdet's chains them as here).

    Args:
        plugins (list[dict]): ``dict(cfg=..., position=...)`` items, the
            ``cfg`` built by ``build_plugin_layer(cfg, in_channels=planes,
            postfix=cfg.pop('postfix', ''))``.
        inplanes, planes, *args, **kwargs: ``BasicBlock`` arguments.
    """

    positions = ('after_conv1', 'after_conv2')

    def __init__(self,
                 inplanes: int,
                 planes: int,
                 *args,
                 plugins: Optional[List[dict]] = None,
                 **kwargs):
        super().__init__(inplanes, planes, *args, **kwargs)
        plugins = plugins or []
        for p in plugins:
            if p['position'] not in self.positions:
                raise ValueError(
                    f'plugin position {p["position"]!r} is not supported by '
                    f'BASIC blocks; use one of {self.positions}')
        self.plugin_names = {
            pos: self._make_plugins(
                planes, [p['cfg'] for p in plugins if p['position'] == pos])
            for pos in self.positions
        }

    def _make_plugins(self, in_channels: int, cfgs: List[dict]) -> List[str]:
        names = []
        for cfg in cfgs:
            cfg = dict(cfg)
            name, layer = build_plugin_layer(
                cfg, in_channels=in_channels, postfix=cfg.pop('postfix', ''))
            if hasattr(self, name):
                raise ValueError(f'duplicate plugin {name!r}: give the '
                                 "plugins of one type distinct 'postfix'es")
            self.add_module(name, layer)
            names.append(name)
        return names

    def _plugins(self, x: torch.Tensor, position: str) -> torch.Tensor:
        for name in self.plugin_names[position]:
            x = getattr(self, name)(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """conv1-norm1-ReLU, plugins, conv2-norm2, plugins, + shortcut,
        ReLU: stock's forward with the plugins.

        Args:
            x (Tensor): (N, inplanes, H, W).

        Returns:
            Tensor: (N, planes, H / stride, W / stride).
        """

        def _inner_forward(x):
            identity = x
            out = self.conv1(x)
            out = self.norm1(out)
            out = self.relu(out)
            out = self._plugins(out, 'after_conv1')
            out = self.conv2(out)
            out = self.norm2(out)
            out = self._plugins(out, 'after_conv2')
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return out

        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(_inner_forward, x, use_reentrant=False)
        else:
            out = _inner_forward(x)
        return self.relu(out)

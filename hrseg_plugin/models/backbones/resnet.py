"""mmseg's ResNet / ResNetV1c with its conv + BatchNorm pairs folded in eval
mode (``hrseg_plugin.ResNet``, ``hrseg_plugin.ResNetV1c``).

Same arguments, parameters, buffers and state-dict keys as the stock
classes: stock checkpoints (``open-mmlab://resnet50_v1c``, a stock
BiSeNetV1's context path, ...) load unchanged, and training computes what
stock computes. In eval mode (inference, or ``norm_eval`` /
``frozen_stages`` norms while training) each BatchNorm is folded into the
conv before it on every call (:func:`conv_norm_forward`), so the network
makes one pass less over each activation map (except on maps too small for
folding to pay, see :func:`folding_pays`). We subclass rather than wrap
stock's ResNet because its blocks call ``norm(conv(x))`` themselves; the
blocks here are the folding ones HRNet uses.
"""
import torch
import torch.nn as nn
from mmseg.models.backbones.resnet import BasicBlock as _StockBasicBlock
from mmseg.models.backbones.resnet import Bottleneck as _StockBottleneck
from mmseg.models.backbones.resnet import ResNet as _StockResNet

from hrseg_plugin.registry import MODELS

from ..layers.bottleneck import Bottleneck
from ..layers.conv_norm import ConvNorm, conv_norm_forward
from ..layers.plugin_basic_block import PluginBasicBlock

_FOLDING_BLOCK = {
    _StockBasicBlock: PluginBasicBlock,
    _StockBottleneck: Bottleneck
}


@MODELS.register_module()
class ResNet(_StockResNet):
    """Stock mmseg ``ResNet`` whose conv + BatchNorm pairs (stem, blocks,
    shortcut projections) run as single convs when the norms are in eval
    mode: same outputs, same state dict.

    Args:
        As mmseg's ``ResNet`` (``depth``, ``deep_stem``, ``avg_down``,
        ``plugins``, ``norm_eval``, ``with_cp`` ...). Basic blocks
        (depth 18 / 34) also take mmcv ``plugins`` (positions
        ``after_conv1`` / ``after_conv2``, see ``PluginBasicBlock``), which
        stock refuses. With ``avg_down=True`` the shortcut projections
        (pool, conv, norm) are left unfolded.
    """

    arch_settings = {
        depth: (_FOLDING_BLOCK[block], stages)
        for depth, (block, stages) in _StockResNet.arch_settings.items()
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for module in self.modules():
            downsample = getattr(module, 'downsample', None)
            # ResLayer's projection: Sequential(conv, norm) (keys .0 / .1,
            # which ConvNorm keeps)
            if (type(downsample) is nn.Sequential and len(downsample) == 2
                    and isinstance(downsample[0], nn.Conv2d)):
                module.downsample = ConvNorm(*downsample)

    def _stem_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.deep_stem:
            return self.relu(conv_norm_forward(self.conv1, self.norm1, x))
        # Sequential(conv, norm, ReLU) x 3 (stock's keys stem.0 ... stem.8)
        for i in range(0, len(self.stem), 3):
            x = self.stem[i + 2](
                conv_norm_forward(self.stem[i], self.stem[i + 1], x))
        return x

    def forward(self, x: torch.Tensor) -> tuple:
        """Stem, max-pool, residual stages; the outputs of ``out_indices``
        (stock's forward with the folding stem)."""
        x = self.maxpool(self._stem_forward(x))
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


@MODELS.register_module()
class ResNetV1c(ResNet):
    """:class:`ResNet` with stock ``ResNetV1c``'s deep stem (three 3x3
    convs in place of the 7x7 conv); the architecture of
    ``open-mmlab://resnet50_v1c`` / ``resnet101_v1c`` and of the dilated
    backbones of mmseg's segmentors."""

    def __init__(self, **kwargs):
        super().__init__(deep_stem=True, avg_down=False, **kwargs)

"""mmseg's ``Bottleneck`` with its conv + norm pairs folded in eval mode."""
import torch
import torch.utils.checkpoint as cp
from mmseg.models.backbones.resnet import Bottleneck as _MMSegBottleneck

from .conv_norm import conv_norm_forward


class Bottleneck(_MMSegBottleneck):
    """Stock mmseg ``Bottleneck`` (same arguments, parameters, names and
    plugins) whose three conv + norm pairs run as single convs when the
    norms are in eval mode (:func:`conv_norm_forward`): same outputs, one
    pass less over each activation map. HRNet's first stage and the
    classification neck use it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """conv1-norm1-ReLU, conv2-norm2-ReLU, conv3-norm3 (each followed
        by its plugins), + shortcut, ReLU: stock mmseg's order."""

        def _inner_forward(x):
            out = self.relu(conv_norm_forward(self.conv1, self.norm1, x))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv1_plugin_names)
            out = self.relu(conv_norm_forward(self.conv2, self.norm2, out))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv2_plugin_names)
            out = conv_norm_forward(self.conv3, self.norm3, out)
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv3_plugin_names)
            identity = x if self.downsample is None else self.downsample(x)
            out += identity  # in place, as stock
            return out

        return self.relu(run_maybe_checkpointed(_inner_forward, x,
                                                self.with_cp))


def run_maybe_checkpointed(fn, x: torch.Tensor,
                           with_cp: bool) -> torch.Tensor:
    """``fn(x)``, through gradient checkpointing when ``with_cp`` and ``x``
    needs gradients (the residual blocks' ``with_cp`` option)."""
    if with_cp and x.requires_grad:
        return cp.checkpoint(fn, x, use_reentrant=False)
    return fn(x)

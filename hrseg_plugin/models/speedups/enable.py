"""Switching the speed-ups on: one call per top-level model, or a config
wrapper for stock modules."""
from typing import Union

import torch.nn as nn

from hrseg_plugin.registry import MODELS
from .folding import enable_folding
from .memory_format import set_memory_layout
from .seg_loss import enable_fast_seg_loss


def enable_speedups(module: nn.Module,
                    channels_last: bool = False,
                    contiguous_outputs: bool = False) -> nn.Module:
    """Switch this package's speed-ups on for ``module`` and everything
    below it: eval-mode conv + BatchNorm folding
    (:func:`~.folding.enable_folding`), the memory-layout rule
    (:func:`~.memory_format.set_memory_layout`) and, for mmseg decode
    heads, the fused upsampled cross-entropy of the training step
    (:func:`~.seg_loss.enable_fast_seg_loss`).

    Each registered top-level module of the package calls it as the last
    line of its ``__init__``; classes, parameters, state-dict keys and
    training results are unchanged. Calling it again (a model that contains
    an enabled one) is harmless.

    Args:
        module (nn.Module): The module, changed in place.
        channels_last (bool): Compute in ``channels_last`` (weights stored
            so, inputs converted at entry). Default: False (the input's
            layout).
        contiguous_outputs (bool): Return outputs in the default layout.
            Default: False.

    Returns:
        nn.Module: ``module``.
    """
    enable_folding(module)
    enable_fast_seg_loss(module)
    return set_memory_layout(module, channels_last, contiguous_outputs)


@MODELS.register_module(name='WithSpeedups')
def with_speedups(module: Union[str, dict], **kwargs) -> nn.Module:
    """Build a module of any registry and switch the speed-ups on for it
    (:func:`enable_speedups`, folding only: the module keeps computing in
    its input's layout). The module returned is the one built: same class,
    arguments, state-dict keys and ``init_cfg``.

    For stock modules, whose ``__init__`` we do not own; e.g. SPNet's
    backbone::

        backbone=dict(type='hrseg_plugin.WithSpeedups', module='ResNetV1c',
                      depth=50, plugins=[...], init_cfg=...)

    Args:
        module (str | dict): The module's type (its arguments are the other
            keys, so that a config inheriting a stock ``_base_`` overrides
            them as usual), or its whole config dict.
        **kwargs: The module's arguments (merged over ``module``'s when it
            is a dict), e.g. the ``pretrained`` that mmseg's
            ``EncoderDecoder`` passes on.

    Returns:
        nn.Module: The built module.
    """
    cfg = dict(type=module) if isinstance(module, str) else dict(module)
    cfg.update(kwargs)
    return enable_speedups(MODELS.build(cfg))

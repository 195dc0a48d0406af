"""The memory-layout rule of the models (``channels_last`` or default).

One rule for every module of the package:

- a module computes in the layout of its input: convs, norms,
  interpolations and sums keep it, so a head fed ``channels_last`` features
  runs ``channels_last`` with nothing to set;
- a module enabled with ``channels_last=True`` (HRNet, BiSeNet: whole
  networks) stores its 4-D weights ``channels_last`` once (loading a
  checkpoint copies into them and keeps the layout; no conv reorders its
  weight per call: 6% off BiSeNet-R18's inference on 2 CPU threads) and
  converts its 4-D tensor inputs at entry;
- a module enabled with ``contiguous_outputs=True`` returns its tensors in
  the default layout: for consumers that need it, such as mmcv's compiled
  ops (its CPU ``RoIAlign`` reads NCHW memory and returns wrong values for
  ``channels_last`` input). HRNet does so unless ``out_channels_last``;
  HRFPN always.

The conversions are forward (pre-)hooks of the module: they run on every
path that calls it, and ``torch.compile`` and the ONNX exporter trace them.
"""
from typing import Any, Dict, Tuple

import torch
import torch.nn as nn


def _to_channels_last(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.dim() == 4:
        return value.contiguous(memory_format=torch.channels_last)
    return value


def _to_default_layout(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.contiguous()
    if isinstance(value, (list, tuple)) and not hasattr(value, '_fields'):
        return type(value)(_to_default_layout(v) for v in value)
    if isinstance(value, dict):
        return type(value)((k, _to_default_layout(v))
                           for k, v in value.items())
    return value


def channels_last_inputs(module: nn.Module, args: tuple,
                         kwargs: Dict[str, Any]) -> Tuple[tuple, dict]:
    """Forward pre-hook: the 4-D tensor arguments in ``channels_last``
    (anything else, e.g. a wrongly shaped image that the module's own check
    reports, as it is).

    Args:
        module (nn.Module): The hooked module.
        args (tuple): Positional arguments of the call.
        kwargs (dict): Keyword arguments of the call.

    Returns:
        tuple[tuple, dict]: The converted arguments.
    """
    return (tuple(_to_channels_last(a) for a in args),
            {k: _to_channels_last(v) for k, v in kwargs.items()})


def default_layout_outputs(module: nn.Module, args: tuple,
                           output: Any) -> Any:
    """Forward hook: the output's tensors (in lists, tuples and dicts too)
    in the default contiguous layout.

    Args:
        module (nn.Module): The hooked module.
        args (tuple): Positional arguments of the call.
        output (Any): What the module returned.

    Returns:
        Any: ``output`` with each tensor ``.contiguous()``.
    """
    return _to_default_layout(output)


def set_memory_layout(module: nn.Module,
                      channels_last: bool = False,
                      contiguous_outputs: bool = False) -> nn.Module:
    """Apply the layout rule of this file to ``module`` (idempotent).

    Args:
        module (nn.Module): The module, changed in place.
        channels_last (bool): Store its 4-D parameters and buffers and
            take its 4-D inputs ``channels_last``. Default: False (compute
            in the input's layout).
        contiguous_outputs (bool): Return the outputs in the default
            layout. Default: False (in the layout computed).

    Returns:
        nn.Module: ``module``.
    """
    if channels_last:
        module.to(memory_format=torch.channels_last)
        if channels_last_inputs not in module._forward_pre_hooks.values():
            module.register_forward_pre_hook(
                channels_last_inputs, with_kwargs=True)
    if contiguous_outputs and \
            default_layout_outputs not in module._forward_hooks.values():
        module.register_forward_hook(default_layout_outputs)
    return module

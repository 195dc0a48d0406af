"""``train.py --amp``: automatic mixed precision, on GPUs and on CPUs.

On CPU, mmengine 0.10's ``AmpOptimWrapper`` refuses to be built, so
:data:`CPU_AMP_OPTIM_WRAPPER` (registered on first use) runs the forward
pass and the loss under bfloat16 autocast instead.
"""
import logging
from contextlib import contextmanager

from .cli import ToolError, log_message

#: Registered name of the optimizer wrapper ``--amp`` uses on CPU.
CPU_AMP_OPTIM_WRAPPER = 'CPUAmpOptimWrapper'


def enable_amp(cfg) -> str:
    """Switch the config to automatic mixed precision training.

    * On CUDA (and NPU / MLU / MUSA) devices: mmengine's ``AmpOptimWrapper``
      with a dynamic loss scale, as the stock tools do (float16 autocast).
    * On CPU: mmengine 0.10's ``AmpOptimWrapper`` refuses to be built
      without an accelerator, so :data:`CPU_AMP_OPTIM_WRAPPER` is used:
      the plain optimizer wrapper with the forward pass and the loss under
      ``torch.autocast('cpu', dtype=torch.bfloat16)``. bfloat16 has the
      exponent range of float32, so there is no loss scaling; parameters,
      gradients and the optimizer state stay float32.

    Returns:
        str: The optimizer wrapper type now in the config.

    Raises:
        ToolError: The config's wrapper is neither ``OptimWrapper`` nor an
            AMP wrapper, or the device cannot autocast (Apple MPS).
    """
    optim_wrapper = cfg.get('optim_wrapper', None)
    if optim_wrapper is None:
        raise ToolError('--amp needs an `optim_wrapper` in the config')
    wrapper_type = optim_wrapper.get('type', 'OptimWrapper')
    amp_types = ('AmpOptimWrapper', CPU_AMP_OPTIM_WRAPPER)
    if wrapper_type not in ('OptimWrapper', ) + amp_types:
        raise ToolError('--amp is only supported when optim_wrapper.type is '
                        f'OptimWrapper, but the config has {wrapper_type!r}')

    from mmengine.device import get_device
    device = get_device()
    if device == 'mps':
        raise ToolError('--amp is not supported on Apple MPS devices')
    new_type = CPU_AMP_OPTIM_WRAPPER if device == 'cpu' else 'AmpOptimWrapper'
    if wrapper_type == new_type:
        log_message('AMP training is already enabled in your config.',
                    logging.WARNING)
        return new_type
    # Drop the other AMP wrapper's arguments when switching between the two.
    for key in ('loss_scale', 'dtype', 'use_fsdp'):
        optim_wrapper.pop(key, None)
    optim_wrapper.type = new_type
    if new_type == 'AmpOptimWrapper':
        optim_wrapper.loss_scale = 'dynamic'
    else:
        optim_wrapper.dtype = 'bfloat16'
        log_message('--amp on CPU: AmpOptimWrapper needs an accelerator, '
                    f'using {CPU_AMP_OPTIM_WRAPPER} (bfloat16 autocast, no '
                    'loss scaling)')
    return new_type


def register_cpu_amp_optim_wrapper():
    """Register :data:`CPU_AMP_OPTIM_WRAPPER` in mmengine's
    ``OPTIM_WRAPPERS`` registry (once) and return the class.

    It is registered in the root registry, so mmseg and mmdet configs both
    find it. The class is also reachable as
    ``hrseg_plugin.apis.amp.CPUAmpOptimWrapper``.
    """
    from mmengine.registry import OPTIM_WRAPPERS
    registered = OPTIM_WRAPPERS.module_dict.get(CPU_AMP_OPTIM_WRAPPER)
    if registered is not None:
        return registered

    import torch
    from mmengine.optim import OptimWrapper

    class CPUAmpOptimWrapper(OptimWrapper):
        """``OptimWrapper`` running the forward pass and the loss under
        bfloat16 autocast on CPU.

        mmengine's ``AmpOptimWrapper`` asserts a CUDA / NPU / MLU / MUSA
        device; on CPU, torch autocast only supports bfloat16, which needs
        no loss scaling. ``backward`` and ``step`` are the plain wrapper's,
        so parameters, gradients and optimizer state stay float32 and a
        checkpoint resumes with or without ``--amp``.

        Args:
            dtype (str or torch.dtype): Autocast dtype; only ``'bfloat16'``
                is supported on CPU.
            **kwargs: Arguments of ``OptimWrapper``.
        """

        def __init__(self, dtype='bfloat16', **kwargs):
            if dtype not in ('bfloat16', torch.bfloat16):
                raise ValueError(
                    f'{CPU_AMP_OPTIM_WRAPPER} only supports dtype='
                    f"'bfloat16' (CPU autocast), got {dtype!r}")
            super().__init__(**kwargs)
            self.cast_dtype = torch.bfloat16

        @contextmanager
        def optim_context(self, model):
            with super().optim_context(model), torch.autocast(
                    device_type='cpu', dtype=self.cast_dtype):
                yield

    CPUAmpOptimWrapper.__module__ = __name__
    OPTIM_WRAPPERS.register_module(
        name=CPU_AMP_OPTIM_WRAPPER, module=CPUAmpOptimWrapper)
    return CPUAmpOptimWrapper


def __getattr__(name):  # PEP 562: build the torch-dependent class lazily
    if name == CPU_AMP_OPTIM_WRAPPER:
        return register_cpu_amp_optim_wrapper()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

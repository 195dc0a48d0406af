"""Training-time reliability: atomic checkpoints and a stop on a
non-finite loss, a build-time check of head channels. The hooks are
used by the configs in ``configs/``."""
from .atomic_checkpoint import AtomicCheckpointHook, atomic_save_file
from .model_check import ModelCheckHook, check_model_channels
from .non_finite_loss import NonFiniteLossError, NonFiniteLossHook

__all__ = [
    'AtomicCheckpointHook', 'atomic_save_file', 'ModelCheckHook',
    'NonFiniteLossError', 'NonFiniteLossHook', 'check_model_channels'
]

"""Training-time reliability: atomic checkpoints and a stop on a
non-finite loss. Both hooks are used by the configs in ``configs/``."""
from .atomic_checkpoint import AtomicCheckpointHook, atomic_save_file
from .non_finite_loss import NonFiniteLossError, NonFiniteLossHook

__all__ = [
    'AtomicCheckpointHook', 'atomic_save_file', 'NonFiniteLossError',
    'NonFiniteLossHook'
]

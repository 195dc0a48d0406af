"""Training-time reliability: atomic checkpoints, a stop on a non-finite
loss, a build-time check of the heads' channels, the total of skipped
unreadable images (hooks used by the configs in ``configs/``), and a
pretrained-weight initializer that refuses the checkpoint of another
model."""
from ..utils.checkpoint_io import atomic_save_file
from .atomic_checkpoint import AtomicCheckpointHook
from .checked_pretrained import CheckedPretrainedInit
from .model_check import ModelCheckHook, check_model_channels
from .non_finite_loss import NonFiniteLossError, NonFiniteLossHook
from .skipped_images import SkippedImagesHook

__all__ = [
    'AtomicCheckpointHook', 'atomic_save_file', 'CheckedPretrainedInit',
    'ModelCheckHook', 'NonFiniteLossError', 'NonFiniteLossHook',
    'SkippedImagesHook', 'check_model_channels'
]

"""Checkpoints the tools load: which objects they may hold (see
:data:`hrseg_plugin.apis.cli.CHECKPOINT_TRUST_HELP`), and whether their
weights fit the config's model."""
from hrseg_plugin.utils.checkpoint_io import load_checkpoint_file
from hrseg_plugin.utils.state_dicts import (compare_state_dicts,
                                            describe_key_differences,
                                            key_shapes, strip_prefix)
from .cli import ToolError


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load``'s weights-only default read mmengine's checkpoints
    (:mod:`hrseg_plugin.utils.safe_checkpoints`, also done by ``import
    hrseg_plugin``), for stock configs too, whose ``custom_imports`` do not
    import hrseg_plugin."""
    from hrseg_plugin.utils.safe_checkpoints import \
        allow_mmengine_checkpoints as allow
    allow()


def check_checkpoint_fits(checkpoint: str, model) -> None:
    """Refuse a checkpoint whose weights do not fit ``model``: the init
    functions load non-strictly, so a checkpoint of another model would
    leave part of it random, with a warning lost in the log. Raises
    :class:`ToolError` naming the missing, unexpected and shape-mismatched
    keys."""
    ckpt = load_checkpoint_file(checkpoint, error=ToolError)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    message = describe_key_differences(
        f'{checkpoint} does not fit the config\'s model',
        *compare_state_dicts(strip_prefix(state), key_shapes(model)),
        hint='is it a checkpoint of another config? For a stock mmseg '
        '/ mmdet or official checkpoint, convert it first '
        '(tools/convert_weights.py)')
    if message:
        raise ToolError(message)

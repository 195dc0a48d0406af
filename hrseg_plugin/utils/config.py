"""Loading configs and building their models.

One way to go from a config file to a config (:func:`load_config`: the
file, with ``mmseg::`` / ``mmdet::`` paths resolved, and ``--cfg-options``
merged) and to its model (:func:`build_model_from_config`: the config's
``custom_imports`` imported and its ``default_scope`` made current first).
The tools (:mod:`hrseg_plugin.apis.config`), the converters' ``--config``
check, the benchmark and the tests use them.
"""
import importlib
import os.path as osp
from typing import Optional, Type


def resolve_config_path(path: str,
                        error: Type[Exception] = FileNotFoundError) -> str:
    """A config path, with ``mmseg::`` / ``mmdet::`` resolved to the config
    shipped inside the installed package (``<pkg>/.mim/configs/...``).

    Raises:
        error: ``package::path`` names no config of the installed package.
    """
    if '::' not in path:
        return path
    package, rel = path.split('::', 1)
    module = importlib.import_module(package)
    full = osp.join(osp.dirname(module.__file__), '.mim', 'configs', rel)
    if not osp.isfile(full):
        raise error(f'{path}: no such config in the installed '
                    f'{package} ({full})')
    return full


def load_config(path: str, cfg_options: Optional[dict] = None):
    """Load a config file (``mmengine.Config.fromfile``, which imports its
    ``custom_imports``) and merge ``cfg_options`` into it.

    Args:
        path (str): Config file, or ``mmseg::`` / ``mmdet::`` path.
        cfg_options (dict, optional): Overrides (``--cfg-options``), merged
            with ``Config.merge_from_dict``.

    Returns:
        mmengine.Config: The config.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(resolve_config_path(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def init_config_scope(cfg, default_scope: str = 'mmseg') -> str:
    """Import the config's ``custom_imports`` (``--cfg-options`` may have
    changed them) and make its ``default_scope`` (else ``default_scope``)
    the current one.

    Returns:
        str: The scope.
    """
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg['custom_imports'])
    scope = cfg.get('default_scope') or default_scope
    init_default_scope(scope)
    return scope


def build_model_from_config(config, cfg_options: Optional[dict] = None):
    """Build the model of an mmseg / mmdet style config, in eval mode, with
    no weights loaded from any file (a ``pretrained`` entry is dropped).

    Args:
        config (str or mmengine.Config): Config file (or ``mmseg::`` /
            ``mmdet::`` path), or a loaded config.
        cfg_options (dict, optional): Overrides merged into it.

    Returns:
        nn.Module: The model.
    """
    if isinstance(config, str):
        cfg = load_config(config, cfg_options)
    else:
        cfg = config
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    scope = init_config_scope(cfg)
    try:
        registry = importlib.import_module(f'{scope}.registry').MODELS
    except (ImportError, AttributeError):
        from mmengine.registry import MODELS as registry
    model_cfg = cfg['model'].copy() if hasattr(cfg['model'], 'copy') \
        else dict(cfg['model'])
    # Never download or load pretrained weights while only checking keys.
    model_cfg.pop('pretrained', None)
    return registry.build(model_cfg).eval()

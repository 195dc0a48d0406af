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
from typing import List, Optional, Tuple, Type


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


def _base_files(path: str) -> List[str]:
    """The ``_base_`` files a config file names (resolved as mmengine does:
    relative to the file, or ``package::path``); [] when it names none or
    they cannot be read from its syntax tree."""
    import ast
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                return []
            bases = [bases] if isinstance(bases, str) else list(bases)
            return [
                resolve_config_path(b) if '::' in b else osp.normpath(
                    osp.join(osp.dirname(path), b)) for b in bases
            ]
    return []


def find_syntax_error(path: str) -> Optional[Tuple[str, SyntaxError]]:
    """The first Python config file among ``path`` and its ``_base_``
    files (recursively) that does not parse, with its SyntaxError; None
    when all parse."""
    import ast
    if not (path.endswith('.py') and osp.isfile(path)):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            ast.parse(f.read(), filename=path)
    except SyntaxError as exc:
        return path, exc
    for base in _base_files(path):
        found = find_syntax_error(base)
        if found:
            return found
    return None


def _describe_load_error(path: str, exc: Exception) -> str:
    found = find_syntax_error(path)
    if found:
        file, err = found
        where = (f'config file {path}' if file == path else
                 f'config file {path}: its _base_ file {file}')
        line = (err.text or '').strip()
        shown = f' ({line!r})' if line else ''
        return (f'{where} has a syntax error at line {err.lineno}'
                f'{shown}: {err.msg}; fix that line')
    return (f'config file {path} cannot be loaded: {type(exc).__name__}: '
            f'{exc}')


def _edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1,
                                       prev + (ca != cb))
    return row[-1]


def _typo_of(name: str, choices) -> List[str]:
    """The keys among ``choices`` that ``name`` is a typo of: one edit
    away (two for names of 6+ characters), e.g. ``max_iter`` ->
    ``max_iters``; a different word (``out_channels`` next to
    ``in_channels``) is not a typo."""
    name = str(name)
    allowed = 2 if len(name) >= 6 else 1 if len(name) >= 3 else 0
    return [
        str(c) for c in choices
        if 0 < _edit_distance(name.lower(), str(c).lower()) <= allowed
    ][:3]


def _describe_value(value) -> str:
    if isinstance(value, bool):
        return 'a bool (True / False)'
    if isinstance(value, (int, float)):
        return f'a number ({value!r})'
    return f'a {type(value).__name__} ({value!r})'


def check_cfg_options(cfg, cfg_options: dict) -> None:
    """Refuse ``--cfg-options`` that are almost certainly mistakes, before
    they are merged.

    * a key that is not in the config but close to one that is (``max_iter``
      for ``max_iters``): a typo, which mmengine would add as a new key and
      the builder would then reject with a traceback, or ignore;
    * a list index out of range, or a non-numeric key into a list;
    * a word where the config has a number or a bool: ``max_iters=abc``
      would fail deep in the runner (a list or tuple may replace a number:
      ``in_index=(0,1)``).

    Keys the config does not have and that resemble none of its keys are
    allowed (mmengine adds them: e.g. ``...pipeline.0.skip_unreadable=True``
    or a new ``optim_wrapper.paramwise_cfg``); a builder that does not take
    them is reported when the model or runner is built.

    Raises:
        ConfigError: naming the option, what the config has there and the
            fix.
    """
    from hrseg_plugin.errors import ConfigError
    for full_key, value in (cfg_options or {}).items():
        node, path = cfg._cfg_dict if hasattr(cfg, '_cfg_dict') else cfg, []
        for key in full_key.split('.'):
            where = '.'.join(path) or 'the config'
            shown = f'--cfg-options {full_key}={value!r}'
            if isinstance(node, (list, tuple)):
                if not key.isdigit() or int(key) >= len(node):
                    raise ConfigError(
                        f'{shown}: {where} is a list of {len(node)} items, '
                        f'so {key!r} is not an index of it; use 0 to '
                        f'{len(node) - 1}')
                node = node[int(key)]
            elif isinstance(node, dict):
                if key not in node:
                    close = _typo_of(key, node.keys())
                    if close:
                        raise ConfigError(
                            f'{shown}: {where} has no key {key!r}; did you '
                            f"mean {' or '.join(repr(c) for c in close)}? "
                            'Fix the spelling of the option')
                    break  # a new key: mmengine adds it
                node = node[key]
            else:
                break  # None or a value: replaced by the option
            path.append(key)
        else:
            old = node
            if not isinstance(value, str):
                continue  # a number, bool, list ... may replace a number
            if isinstance(old, bool):
                expected = 'True or False'
            elif isinstance(old, (int, float)):
                expected = 'a number'
            else:
                continue
            raise ConfigError(
                f'--cfg-options {full_key}={value!r}: the config has '
                f'{_describe_value(old)} there; give {expected}')


def load_config(path: str, cfg_options: Optional[dict] = None):
    """Load a config file (``mmengine.Config.fromfile``, which imports its
    ``custom_imports``) and merge ``cfg_options`` into it.

    Args:
        path (str): Config file, or ``mmseg::`` / ``mmdet::`` path.
        cfg_options (dict, optional): Overrides (``--cfg-options``), checked
            by :func:`check_cfg_options`, then merged with
            ``Config.merge_from_dict``.

    Returns:
        mmengine.Config: The config.

    Raises:
        ConfigError: The file (or one of its ``_base_`` files) has a syntax
            error (naming the file and line) or fails to load, or an
            override does not fit the config.
    """
    from mmengine.config import Config

    from hrseg_plugin.errors import ConfigError
    resolved = resolve_config_path(path, ConfigError)
    try:
        cfg = Config.fromfile(resolved)
    except Exception as exc:  # noqa: BLE001 - any error of the user's file
        raise ConfigError(_describe_load_error(resolved, exc)) from exc
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
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

"""One line for the errors the libraries raise on a user's mistake.

mmengine, mmcv and torch report a mistyped module name, an argument a
module does not take, a BatchNorm fed one value per channel or a full disk
with a traceback whose last line does not say which field or file to fix.
:func:`explain_exception` turns those (and this package's own
:class:`hrseg_plugin.errors.CheckError`) into the message
:func:`hrseg_plugin.apis.run_tool` prints as ``<tool>: error: ...``;
anything else is left to propagate with its traceback (a bug to report).
:func:`explained_build_errors` does the same where the config is at hand,
naming the config field (``model.backbone.type``).
"""
import contextlib
import difflib
import errno
import importlib
import re
from typing import Iterator, List, Optional

from .cli import ToolError

#: mmengine's message for a type name its registry does not know.
_NOT_REGISTERED = re.compile(
    r"([\w.]+) is not in the (?:(\w+)::)?([\w ]+?) registry")
#: Python's message for an argument a class does not take.
_UNEXPECTED_ARG = re.compile(
    r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")
_ONE_VALUE = 'Expected more than 1 value per channel when training'
#: OpenCV's messages for a resize to an empty size.
_ZERO_RESIZE = ('inv_scale_x > 0', 'inv_scale_y > 0', '!dsize.empty()',
                '!ssize.empty()')
_WRITE_ERRNOS = {
    errno.ENOSPC: 'the disk is full',
    errno.EDQUOT: 'the disk quota is exceeded',
    errno.EROFS: 'the file system is read-only',
    errno.EACCES: 'permission denied',
    errno.EPERM: 'permission denied',
    errno.EFBIG: 'the file is too large for the file system or limits',
}


def _registry(scope: Optional[str], name: str):
    """The registry mmengine named in its message (``mmseg::model``)."""
    from mmengine.registry import Registry
    modules = []
    if scope:
        with contextlib.suppress(ImportError):
            modules.append(importlib.import_module(f'{scope}.registry'))
    modules.append(importlib.import_module('mmengine.registry'))
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, Registry) and value.name == name:
                return value
    return None


def registered_names(registry) -> List[str]:
    """Every name ``registry`` resolves: its own and its parents' plain
    names, and those of the other scopes with their prefix
    (``hrseg_plugin.HRNet``). The registries' modules are imported first."""
    root = registry
    while root.parent is not None:
        root = root.parent
    names, seen = [], set()

    def walk(reg):
        with contextlib.suppress(Exception):
            reg.import_from_location()
        own = reg is root or reg is registry or reg.scope == registry.scope
        for key in reg.module_dict:
            name = key if own else f'{reg.scope}.{key}'
            if name not in seen:
                seen.add(name)
                names.append(name)
        for child in reg.children.values():
            walk(child)

    walk(root)
    return names


def closest_names(query: str, names: List[str], n: int = 4) -> List[str]:
    """The registered names closest to ``query``, compared without their
    scope prefix and case."""
    bare = query.split('.')[-1].lower()
    scored = []
    for name in names:
        ratio = difflib.SequenceMatcher(None, bare,
                                        name.split('.')[-1].lower()).ratio()
        if ratio >= 0.6:
            scored.append((-ratio, name.count('.'), name))
    return [name for _, _, name in sorted(scored)[:n]]


def _fields(cfg, match) -> List[str]:
    """The config fields (``model.backbone.type``) of the dicts for which
    ``match(dict)`` gives a key."""
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            key = match(node)
            if key is not None:
                found.append('.'.join(path + [key]))
            for name, value in node.items():
                walk(value, path + [str(name)])
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, path + [str(i)])

    if cfg is not None:
        walk(cfg._cfg_dict if hasattr(cfg, '_cfg_dict') else cfg, [])
    return found


def _type_fields(cfg, type_name: str) -> List[str]:
    """The config fields (``model.backbone.type``) that hold ``type_name``."""
    return _fields(cfg, lambda d: 'type' if d.get('type') == type_name
                   else None)


def _unregistered_message(match, cfg=None) -> str:
    type_name, scope, reg_name = match.groups()
    fields = _type_fields(cfg, type_name)
    where = (f"{' and '.join(fields[:2])}={type_name!r}"
             if fields else f'type={type_name!r}')
    msg = f'{where} is not a registered {reg_name} type'
    registry = _registry(scope, reg_name)
    if type_name.startswith('hrseg_plugin.') and (
            registry is None or 'hrseg_plugin' not in {
                c.scope for c in _root(registry).children.values()}):
        return (msg + ": hrseg_plugin is not imported; add custom_imports "
                "= dict(imports=['hrseg_plugin'], allow_failed_imports=False)"
                ' to the config')
    if registry is not None:
        close = closest_names(type_name, registered_names(registry))
        if close:
            msg += ('; the closest registered names are ' +
                    ', '.join(repr(c) for c in close))
    return (msg + " (this package's modules are named with the "
            "'hrseg_plugin.' prefix, e.g. 'hrseg_plugin.HRNet'); fix the "
            'type in the config')


def _root(registry):
    while registry.parent is not None:
        registry = registry.parent
    return registry


def _write_error(exc: BaseException) -> Optional[str]:
    if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
        target = exc.filename or 'a file (a checkpoint or log of the run)'
        return (f'cannot write {target}: {_WRITE_ERRNOS[exc.errno]} '
                f'([Errno {exc.errno}] {exc.strerror}); free space or '
                'choose a writable place (--work-dir / --out)')
    text = str(exc)
    if isinstance(exc, RuntimeError) and (
            'PytorchStreamWriter failed writing' in text
            or 'file write failed' in text):
        return ('cannot write a checkpoint: the write failed (the disk may '
                f'be full: {text.splitlines()[0]}); free space or choose '
                'another --work-dir')
    return None


def explain_exception(exc: BaseException, cfg=None) -> Optional[str]:
    """The one-line message for ``exc`` when it is a user's mistake the
    libraries report with a traceback, else None.

    Args:
        exc: The exception.
        cfg (mmengine.Config, optional): The config, to name the field of
            an unknown ``type``.
    """
    from hrseg_plugin.errors import CheckError, ModelConfigError
    if isinstance(exc, ModelConfigError):
        return f'the model of the config is inconsistent: {exc}'
    if isinstance(exc, CheckError):
        return str(exc)
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args \
        else str(exc)
    if isinstance(exc, KeyError):
        match = _NOT_REGISTERED.search(text)
        if match:
            return _unregistered_message(match, cfg)
    if isinstance(exc, TypeError):
        match = _UNEXPECTED_ARG.search(text)
        if match:
            cls, arg = match.groups()
            fields = _fields(cfg, lambda d: arg if arg in d and 'type' in d
                             else None)
            where = (f"{' and '.join(fields[:2])}: " if fields else '')
            return (f'{where}the config gives {arg}=... to {cls}, which '
                    f'takes no argument {arg!r}; remove it or fix its '
                    'spelling (in the config or --cfg-options)')
    if isinstance(exc, ValueError) and _ONE_VALUE in text:
        return ('a BatchNorm layer got one value per channel in training '
                f'({text.split("got input size")[-1].strip()}): a batch of '
                'one image whose feature map shrank to 1x1 (or a global '
                'pooling branch) cannot be normalised; train with a batch '
                'of 2 or more images (batch_size in the config, --batch in '
                'tools/benchmark.py), or larger crops / Resize scales')
    if type(exc).__name__ == 'error' and any(
            s in text for s in _ZERO_RESIZE):  # cv2.error
        return ('the pipeline\'s Resize scales one side of the image to 0 '
                'pixels (its aspect ratio is too extreme for the Resize '
                'scale), which cannot be computed; crop or pad the image, or '
                'change the Resize scale / keep_ratio')
    return _write_error(exc)


@contextlib.contextmanager
def explained_build_errors(cfg=None) -> Iterator[None]:
    """Re-raise the errors :func:`explain_exception` explains as
    :class:`ToolError` (one line, naming the config field where it can)."""
    try:
        yield
    except ToolError:
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised unless explained
        message = explain_exception(exc, cfg)
        if message is None:
            raise
        raise ToolError(message) from exc


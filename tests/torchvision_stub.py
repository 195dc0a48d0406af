"""A test-only stand-in for ``torchvision``, for machines where it cannot be
imported. NEVER shipped: it lives in ``tests/`` and is installed only in
test processes (see below). hrseg_plugin itself never imports torchvision.

Why: no torchvision build on the package index works with the pinned CPU
torch 2.13 (``torchvision==0.28.0`` links CUDA torch libraries; its import
fails with "operator torchvision::nms does not exist"). Yet some upstream
code our tests compare against imports it at module level without using it
for what we run: ``timm`` (``FrozenBatchNorm2d`` for ``isinstance`` checks,
``torchvision.transforms`` for its data pipeline), ``mmpretrain.models`` /
``mmpretrain.datasets`` (``torchvision.ops.boxes``, the transforms it
registers), ``mmpose.apis`` / ``mmpose.visualization`` (``ToPILImage``).

What it is: an import hook (:class:`_StubFinder`) that answers every
``import torchvision`` / ``import torchvision.<anything>`` with an empty
module whose attributes are *placeholders*: classes that can be named,
imported, subclassed, compared, hashed and used in ``isinstance`` (always
False for real objects), and whose attributes are placeholders again (so
``InterpolationMode.BILINEAR`` works), but which raise
:class:`TorchvisionStubError` as soon as anything *calls* them (a function
call or an instantiation, of them or of a subclass). ``dir()`` of a stub
module is empty, so nothing enumerates fake transforms (mmpretrain
registers ``torchvision/<Name>`` transforms from ``dir(torchvision.
transforms)``: with the stub it registers none). Any test that would really
use torchvision therefore fails loudly, naming what was called.

Where it is installed:

* ``tests/conftest.py`` calls :func:`install_if_unusable` once, when pytest
  loads it: only if the real ``torchvision`` cannot be imported (here); on a
  machine with a working torchvision the tests use the real one.
* test subprocesses get it through ``tests/stub_site/sitecustomize.py``
  (put that folder first on ``PYTHONPATH``: :func:`subprocess_env`).
"""
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from typing import Dict, Optional

#: Marks the stub's modules (``torchvision.__hrseg_test_stub__``).
STUB_MARK = '__hrseg_test_stub__'
#: Version string the stub reports.
STUB_VERSION = '0.0.0+hrseg.test.stub'
#: Folder holding the ``sitecustomize.py`` that installs the stub in a
#: subprocess.
STUB_SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         'stub_site')


class TorchvisionStubError(RuntimeError):
    """Something called into the test-only torchvision stub."""


class _PlaceholderMeta(type):
    """Metaclass of the placeholders: attribute access gives further
    placeholders, calling raises."""

    def __getattr__(cls, name):
        if name.startswith('__') and name.endswith('__'):
            raise AttributeError(name)
        return _placeholder(f'{cls.__qualname__}.{name}', cls.__module__)

    def __call__(cls, *args, **kwargs):
        raise TorchvisionStubError(
            f'{cls.__module__}.{cls.__qualname__} was called, but this '
            'process runs with the test-only torchvision stub '
            '(tests/torchvision_stub.py): no working torchvision is '
            'installed. This code path needs a real torchvision.')

    def __repr__(cls):
        return f'<torchvision stub {cls.__module__}.{cls.__qualname__}>'


def _placeholder(qualname: str, module: str) -> type:
    cls = _PlaceholderMeta(qualname.rsplit('.', 1)[-1], (), {
        '__module__': module,
        '__qualname__': qualname,
        '__doc__': 'torchvision test stub placeholder: raises when called',
    })
    return cls


class _StubModule(types.ModuleType):
    """A stub ``torchvision[.sub]`` module."""

    def __getattr__(self, name):
        if name.startswith('__') and name.endswith('__'):
            raise AttributeError(name)
        # a submodule, if one is imported under this name, else a placeholder
        full = f'{self.__name__}.{name}'
        if full in sys.modules:
            return sys.modules[full]
        value = _placeholder(name, self.__name__)
        setattr(self, name, value)
        return value

    def __dir__(self):
        return []


class _StubLoader(importlib.abc.Loader):

    def create_module(self, spec):
        module = _StubModule(spec.name)
        module.__path__ = []  # a package: any submodule can be imported
        setattr(module, STUB_MARK, True)
        if spec.name == 'torchvision':
            module.__version__ = STUB_VERSION
        return module

    def exec_module(self, module):
        pass


class _StubFinder(importlib.abc.MetaPathFinder):
    """Finds ``torchvision`` and all its submodules, as stubs."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == 'torchvision' or fullname.startswith('torchvision.'):
            return importlib.machinery.ModuleSpec(
                fullname, _StubLoader(), is_package=True)
        return None


_FINDER = _StubFinder()


def is_installed() -> bool:
    """Whether this process uses the stub."""
    tv = sys.modules.get('torchvision')
    return _FINDER in sys.meta_path or bool(
        tv is not None and getattr(tv, STUB_MARK, False))


def install() -> None:
    """Install the stub in this process (idempotent). Drops any partly
    imported real torchvision first."""
    if _FINDER in sys.meta_path:
        return
    for name in [n for n in sys.modules
                 if n == 'torchvision' or n.startswith('torchvision.')]:
        del sys.modules[name]
    sys.meta_path.insert(0, _FINDER)


def real_torchvision_error() -> Optional[str]:
    """None when the real torchvision imports, else why it does not."""
    if importlib.util.find_spec('torchvision') is None:
        return 'torchvision is not installed'
    try:
        import torchvision  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any failure means unusable
        return f'import torchvision fails: {type(exc).__name__}: {exc}'
    return None


def install_if_unusable() -> Optional[str]:
    """Install the stub unless a real torchvision imports.

    Returns:
        str | None: Why the stub was installed (None: it was not).
    """
    if is_installed():
        return 'already installed'
    if os.environ.get('HRSEG_NO_TORCHVISION_STUB'):
        return None
    reason = real_torchvision_error()
    if reason is not None:
        install()
    return reason


def subprocess_env(extra: Optional[Dict[str, str]] = None,
                   pythonpath: tuple = ()) -> Dict[str, str]:
    """An environment for a test subprocess that installs the stub at
    start-up (``tests/stub_site/sitecustomize.py``, first on
    ``PYTHONPATH``), followed by ``pythonpath`` and the current
    ``PYTHONPATH``."""
    env = dict(os.environ)
    parts = [STUB_SITE, *pythonpath]
    if env.get('PYTHONPATH'):
        parts.append(env['PYTHONPATH'])
    env['PYTHONPATH'] = os.pathsep.join(parts)
    env.update(extra or {})
    return env

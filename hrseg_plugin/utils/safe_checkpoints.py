"""Let ``torch.load(weights_only=True)`` read mmengine's checkpoints.

torch >= 2.6 loads with ``weights_only=True`` unless told otherwise: the
unpickler then accepts tensors, plain containers and an allow-list of
globals, and refuses everything else. mmengine 0.10.7 calls ``torch.load``
without ``weights_only``, and the checkpoints its runner writes hold a few
objects besides tensors: the message hub's ``HistoryBuffer`` (numpy arrays,
and its statistics methods pickled as ``getattr(HistoryBuffer, 'mean')``)
and numpy scalars. So every stock path that loads one fails with
``Unsupported global: mmengine.logging.history_buffer.HistoryBuffer``:
mmseg / mmdet ``tools/test.py``, ``MMSegInferencer``, ``init_model``,
``DetInferencer``, ``Runner.resume``.

:func:`allow_mmengine_checkpoints` (run when ``hrseg_plugin`` is imported,
i.e. by a config's ``custom_imports``) adds exactly those globals to torch's
allow-list with ``torch.serialization.add_safe_globals``. Loading stays
weights-only: no other class can be built and no other function called
from a pickle. ``getattr`` is the one general function mmengine's pickles
call; it is allowed only as :func:`history_buffer_getattr`, which returns
``HistoryBuffer``'s registered statistics methods and refuses anything
else. We never set ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``.

The list is what ``torch.serialization.get_unsafe_globals_in_checkpoint``
finds in checkpoints that mmengine's runner writes for our segmentation
and detection configs (SGD and AdamW, the stock schedulers, CPU AMP):
``tests/test_safe_checkpoints.py`` checks it on checkpoints written by the
stock ``train.py`` tools.
"""
import pickle
from typing import List, Tuple

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

#: dtypes of the numpy arrays and scalars allowed in a checkpoint.
NUMERIC_DTYPES = ('?', 'b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q',
                  'e', 'f', 'd', 'g', 'F', 'D', 'G')

#: HistoryBuffer's own statistics methods.
BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')

#: The name ``getattr`` is pickled under (``__builtin__`` is mapped to
#: ``builtins`` by the unpickler).
GETATTR_NAME = 'builtins.getattr'


def history_buffer_getattr(obj: object, name: str) -> object:
    """``getattr`` as mmengine's pickles use it, and nothing more.

    ``HistoryBuffer.__getstate__`` stores its statistics methods
    (``min``, ``max``, ``current``, ``mean`` and any registered with
    ``HistoryBuffer.register_statistics``), which pickle as
    ``getattr(HistoryBuffer, name)``.

    Args:
        obj (object): What the pickle asks an attribute of.
        name (str): The attribute.

    Returns:
        object: ``getattr(obj, name)`` for a statistics method of
        ``HistoryBuffer``.

    Raises:
        pickle.UnpicklingError: Any other ``getattr``.
    """
    # the built-in four are added to the registry by the first
    # HistoryBuffer's __init__, so they may not be there yet
    allowed = set(BUILTIN_STATISTICS) | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'weights-only load: getattr({getattr(obj, "__name__", obj)!r}, '
        f'{name!r}) is not allowed (only the statistics methods of '
        "mmengine's HistoryBuffer are); load the file with "
        'torch.load(weights_only=False) only if you trust it')


def _numpy_globals() -> List[object]:
    """numpy's array, dtype and scalar reconstruction, under the module
    names numpy 1.x (``numpy.core``) and 2.x (``numpy._core``) pickle."""
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    entries: List[object] = [np.ndarray, np.dtype]
    # a dtype is rebuilt by setting the state of an instance of its class
    # (numpy.dtypes.Float64DType, ...): the numeric and bool ones, not the
    # object / string / void dtypes, which mmengine's logs never hold
    entries += [type(np.dtype(code)) for code in NUMERIC_DTYPES]
    for name in ('_reconstruct', 'scalar'):
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            entries.append((getattr(multiarray, name), f'{module}.{name}'))
    return entries


def mmengine_checkpoint_globals() -> List[object]:
    """The globals mmengine's checkpoints need, in the form
    ``torch.serialization.add_safe_globals`` takes (an object, or an
    ``(object, 'module.name')`` pair: the object the unpickler uses for a
    global pickled under that name)."""
    return [HistoryBuffer, (history_buffer_getattr, GETATTR_NAME)
            ] + _numpy_globals()


def allow_mmengine_checkpoints() -> Tuple[str, ...]:
    """Add :func:`mmengine_checkpoint_globals` to torch's weights-only
    allow-list (idempotent).

    Returns:
        tuple[str]: The global names now allowed.
    """
    entries = mmengine_checkpoint_globals()
    torch.serialization.add_safe_globals(entries)
    return tuple(
        e[1] if isinstance(e, tuple) else f'{e.__module__}.{e.__qualname__}'
        for e in entries)

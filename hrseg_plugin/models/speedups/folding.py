"""Eval-mode folding of a BatchNorm into the conv before it.

In eval mode a BatchNorm is an affine map per channel, so ``norm(conv(x))``
equals one conv with the weight ``w * s`` and the bias
``(b - mean) * s + beta`` (``s = gamma / sqrt(var + eps)``): the network
makes one pass less over each activation map. :func:`enable_folding` finds
the pairs in a module tree by convention (:func:`find_conv_norm_pairs`) and
gives each conv and norm an instance ``forward`` (:class:`ConvNormPair`);
classes, parameters and state-dict keys stay those of the model.

What is checked on every call, so that no state can go stale:

- the pair folds only while both modules are still the ones their parent
  holds under their names: a module replaced after the build (mmengine's
  ``revert_sync_batchnorm`` and SyncBN conversion, mmcv's ``fuse_conv_bn``)
  runs its own plain forward, and the conv pairs again with a BatchNorm
  that replaced its norm (eager mode);
- only an eval-mode BatchNorm with running statistics folds, and only while
  :func:`eval_folding` is on: training with batch statistics runs as
  written;
- with gradients disabled (inference) the folded weight and bias are
  cached, keyed by the ``_version``, ``data_ptr``, device and dtype of the
  six tensors involved: an in-place update, ``load_state_dict`` or ``.to()``
  recomputes them. With gradients enabled (frozen BatchNorms while
  training) they are computed per call, differentiably, after Xiong et al.,
  "Tune-Mode ConvBN Blocks For Efficient Transfer Learning" (2023).

The forwards are plain Python, so ``torch.compile`` traces them (mmcv's
``efficient_conv_bn_eval`` swaps ``conv.forward`` on every call, which
dynamo refuses), and the ONNX exporter sees no BatchNorm.
"""
import contextlib
import threading
from typing import Iterator, List, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm

_state = threading.local()

#: Forwards (module, qualified name) that compute ``norm{k}(conv{k}(x))``
#: for each ``conv{k}`` / ``norm{k}`` attribute pair of their module and use
#: neither otherwise: stock mmseg / mmdet residual blocks and ResNet stems,
#: our HRNet stem and basic block. Subclasses that keep the forward count.
NAMED_PAIR_FORWARDS = frozenset(
    [(f'{lib}.models.backbones.resnet', f'{cls}.forward')
     for lib in ('mmseg', 'mmdet')
     for cls in ('BasicBlock', 'Bottleneck', 'ResNet')] +
    [('hrseg_plugin.models.backbones.hrnet', 'HRNet.forward'),
     ('hrseg_plugin.models.layers.plugin_basic_block',
      'PluginBasicBlock.forward')])

Tensor = torch.Tensor


@contextlib.contextmanager
def eval_folding(enabled: bool) -> Iterator[None]:
    """Turn folding on or off, in this thread, for a block of code.

    On by default. Off, each conv and its norm run one after the other, so
    that a model computes the same float operations as stock mmseg / mmdet:
    for comparisons op for op, where a random-weight detector would turn the
    ~1e-6 rounding difference into other top-k picks.

    Args:
        enabled (bool): Whether pairs fold inside the block.

    Returns:
        Iterator[None]: A context manager.
    """
    before = getattr(_state, 'enabled', True)
    _state.enabled = enabled
    try:
        yield
    finally:
        _state.enabled = before


def _tracing() -> bool:
    """Whether a tracer (dynamo, torch.export, the TorchScript tracer of
    the ONNX exporter) runs the code: no cache, no module changes then."""
    return (torch.jit.is_tracing() or torch.compiler.is_compiling()
            or torch.compiler.is_exporting())


def can_fold(conv: nn.Module, norm: Optional[nn.Module]) -> bool:
    """Whether ``norm(conv(x))`` can ever run as one conv.

    Args:
        conv (nn.Module): The conv (a plain ``nn.Conv2d``: not SKConv, DCN or
            another conv with its own forward).
        norm (nn.Module, optional): The norm after it (a BatchNorm, any
            ``_BatchNorm`` subclass, that tracks running statistics).

    Returns:
        bool: True for a plain conv followed by such a BatchNorm.
    """
    return (isinstance(conv, nn.Conv2d)
            and type(conv).forward is nn.Conv2d.forward
            and isinstance(norm, _BatchNorm) and norm.track_running_stats)


def fold_conv_norm(conv: nn.Conv2d, norm: _BatchNorm) -> Tuple[Tensor, Tensor]:
    """The weight and bias of the one conv equal to ``norm(conv(x))`` with
    the norm in eval mode, computed (differentiably) from the current
    parameters and statistics.

    Args:
        conv (nn.Conv2d): The conv.
        norm (_BatchNorm): The BatchNorm after it.

    Returns:
        tuple[Tensor, Tensor]: ``w * s`` and ``(b - mean) * s + beta`` with
        ``s = gamma / sqrt(var + eps)`` per output channel.
    """
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    bias = -norm.running_mean if conv.bias is None else \
        conv.bias - norm.running_mean
    bias = bias * scale
    if norm.bias is not None:
        bias = bias + norm.bias
    return conv.weight * scale.reshape(-1, 1, 1, 1), bias


def find_conv_norm_pairs(parent: nn.Module) -> List[Tuple[str, str]]:
    """The (conv, norm) attribute names of ``parent`` whose forward computes
    ``norm(conv(x))``, found by convention.

    - an mmcv ``ConvModule`` (stock forward) whose ``order`` puts the norm
      right after the conv: ``('conv', 'norm')``;
    - an ``nn.Sequential`` (stock forward): each conv child followed by a
      BatchNorm child;
    - a module whose forward is in :data:`NAMED_PAIR_FORWARDS`:
      ``('conv1', 'norm1')``, ``('conv2', 'norm2')``, ...

    Only pairs that :func:`can_fold` are returned. (The convention is the
    parent's forward: a caller of ``ConvModule.forward(x, norm=False)``
    would get the norm applied anyway; no code of mmseg, mmdet or ours
    makes that call.)

    Args:
        parent (nn.Module): The module whose children are looked at.

    Returns:
        list[tuple[str, str]]: Attribute names, read again on every call.
    """
    names = []
    if isinstance(parent, ConvModule):
        order = tuple(parent.order)
        if (type(parent).forward is ConvModule.forward and parent.with_norm
                and parent.efficient_conv_bn_eval_forward is None
                and order[order.index('conv') + 1:][:1] == ('norm', )):
            names.append(('conv', 'norm'))
    elif isinstance(parent, nn.Sequential):
        if type(parent).forward is nn.Sequential.forward:
            keys = list(parent._modules)
            names += list(zip(keys[:-1], keys[1:]))
    else:
        forward = type(parent).forward
        if (forward.__module__, forward.__qualname__) in NAMED_PAIR_FORWARDS:
            k = 1
            while hasattr(parent, f'conv{k}'):
                if hasattr(parent, f'norm{k}'):
                    names.append((f'conv{k}', f'norm{k}'))
                k += 1
    return [(c, n) for c, n in names
            if can_fold(getattr(parent, c), getattr(parent, n))]


class ConvNormPair:
    """A conv and the BatchNorm its parent applies to the conv's output, run
    as one conv when they fold (:meth:`folds`).

    Created by :func:`enable_folding`. It installs :meth:`conv_forward` as
    the conv's ``forward`` and :meth:`norm_forward` as the norm's (instance
    attributes: classes, parameters and keys are unchanged). Both modules
    are read from ``parent`` by name on every call.

    Args:
        parent (nn.Module): The module holding both.
        conv_name (str): Attribute name of the conv in ``parent``.
        norm_name (str): Attribute name of the norm in ``parent`` (a
            property such as ``norm1`` works).
    """

    def __init__(self, parent: nn.Module, conv_name: str, norm_name: str):
        self.parent = parent
        self.conv_name = conv_name
        self.norm_name = norm_name
        self.conv = getattr(parent, conv_name)
        self.norm = None
        self._cache = None
        self.conv.forward = self.conv_forward
        self._adopt(getattr(parent, norm_name))

    def _adopt(self, norm: nn.Module) -> None:
        """Pair with ``norm``; the previous norm gets its own forward
        back."""
        if self.norm is not None and \
                self.norm.__dict__.get('forward') == self.norm_forward:
            del self.norm.forward
        self.norm = norm
        norm.forward = self.norm_forward
        self._cache = None

    def maintain(self) -> None:
        """Pair again when the parent's norm was replaced by another
        BatchNorm (``revert_sync_batchnorm``, SyncBN conversion), and drop
        the cache while the norm trains. Eager mode only."""
        current = getattr(self.parent, self.norm_name, None)
        if current is not self.norm and can_fold(self.conv, current):
            self._adopt(current)
        if self.norm.training:
            self._cache = None

    def folds(self) -> bool:
        """Whether this call runs the pair as one conv.

        Returns:
            bool: Folding is on (:func:`eval_folding`), the norm is in eval
            mode with running statistics, and the parent still holds this
            conv and this norm with their forwards installed.
        """
        norm, conv, parent = self.norm, self.conv, self.parent
        # mmengine's FLOP counter traces with TorchScript and attributes ops
        # to modules: a folded norm would count as never called, so traces
        # other than the ONNX export (which keeps the folding: no
        # BatchNormalization node) run the pair unfolded
        return (getattr(_state, 'enabled', True) and not norm.training
                and not (torch.jit.is_tracing()
                         and not torch.onnx.is_in_onnx_export())
                and norm.running_var is not None
                and getattr(parent, self.norm_name, None) is norm
                and getattr(parent, self.conv_name, None) is conv
                and norm.__dict__.get('forward') == self.norm_forward
                and conv.__dict__.get('forward') == self.conv_forward)

    def _key(self) -> Optional[tuple]:
        conv, norm = self.conv, self.norm
        key = [norm.eps]
        for t in (conv.weight, conv.bias, norm.weight, norm.bias,
                  norm.running_mean, norm.running_var):
            if t is None:
                key.append(None)
            elif t.is_inference():  # no version counter: do not cache
                return None
            else:
                key.append((t._version, t.data_ptr(), t.device, t.dtype))
        return tuple(key)

    def folded_params(self) -> Tuple[Tensor, Tensor]:
        """The folded weight and bias: cached while gradients are disabled
        (and no tracer runs), else computed for this call.

        Returns:
            tuple[Tensor, Tensor]: See :func:`fold_conv_norm`.
        """
        if torch.is_grad_enabled() or _tracing():
            return fold_conv_norm(self.conv, self.norm)
        key = self._key()
        if key is None:
            return fold_conv_norm(self.conv, self.norm)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, *fold_conv_norm(self.conv, self.norm))
        return self._cache[1], self._cache[2]

    def conv_forward(self, x: Tensor) -> Tensor:
        """The conv's forward: the folded conv when the pair folds, else
        ``nn.Conv2d``'s."""
        if not _tracing():
            self.maintain()
        if self.folds():
            return self.conv._conv_forward(x, *self.folded_params())
        return nn.Conv2d.forward(self.conv, x)

    def norm_forward(self, x: Tensor) -> Tensor:
        """The norm's forward: ``x`` as it is when the pair folds (the conv
        applied the norm), else the norm's own."""
        if self.folds():
            return x
        return type(self.norm).forward(self.norm, x)


def pair_of(conv: nn.Module) -> Optional[ConvNormPair]:
    """The :class:`ConvNormPair` whose conv is ``conv``, if any.

    Args:
        conv (nn.Module): A conv.

    Returns:
        ConvNormPair | None: Its pair.
    """
    pair = getattr(conv.__dict__.get('forward'), '__self__', None)
    return pair if isinstance(pair, ConvNormPair) and pair.conv is conv \
        else None


def enable_folding(module: nn.Module) -> List[ConvNormPair]:
    """Pair every conv + BatchNorm of ``module`` that
    :func:`find_conv_norm_pairs` finds; pairs made before are kept (calling
    it again, e.g. from a model that contains an enabled one, is harmless).

    Args:
        module (nn.Module): The module tree, changed in place.

    Returns:
        list[ConvNormPair]: All pairs below ``module``.
    """
    pairs = []
    for parent in module.modules():
        for conv_name, norm_name in find_conv_norm_pairs(parent):
            pair = pair_of(getattr(parent, conv_name))
            if pair is None or pair.parent is not parent:
                pair = ConvNormPair(parent, conv_name, norm_name)
            pairs.append(pair)
    return pairs


def folding_pairs(module: nn.Module) -> List[ConvNormPair]:
    """The pairs installed below ``module`` (for inspection and tests).

    Args:
        module (nn.Module): A module tree.

    Returns:
        list[ConvNormPair]: One per paired conv.
    """
    return [p for p in map(pair_of, module.modules()) if p is not None]


def effective_conv_params(conv: nn.Conv2d) -> Tuple[Tensor, Optional[Tensor]]:
    """The weight and bias that ``conv``'s forward applies in this call:
    the folded ones when its pair folds, else its own.

    For code that runs a conv by hand (e.g. over parts of its input): follow
    it by the norm module's call, which is a no-op exactly when the folded
    parameters were returned.

    Args:
        conv (nn.Conv2d): A conv, paired or not.

    Returns:
        tuple[Tensor, Tensor | None]: Weight and bias.
    """
    pair = pair_of(conv)
    if pair is not None:
        if not _tracing():
            pair.maintain()
        if pair.folds():
            return pair.folded_params()
    return conv.weight, conv.bias

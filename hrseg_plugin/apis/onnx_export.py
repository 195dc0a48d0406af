"""Export a model's network to ONNX and run it with onnxruntime.

``tools/export_onnx.py`` is the command-line front end; ``tools/benchmark.py
--onnx`` times the exported network next to PyTorch. What is exported:

- ``part='model'`` (segmentors): the network from the normalised image
  batch (the data preprocessor's output, ``N x 3 x H x W``) to the class
  logits, resized to the input size (``resize=True``, what mmseg's
  ``encode_decode`` gives before the argmax) or at the decode head's
  resolution (``resize=False``, what ``mode='tensor'`` returns);
- ``part='backbone'`` (any model, detectors included): backbone + neck
  (``extract_feat``), one output per feature map. Detectors' heads need
  NMS and RoIAlign, which stock ONNX has no ops for: that is mmdeploy's
  job.

The export runs in eval mode: the BatchNorms are folded into the convs
(constant folding turns the on-the-fly folded weights into plain
initializers), dropout is off.
"""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from hrseg_plugin.utils import compare
from .cli import ToolError

#: What can be exported, see the module docstring.
PARTS = ('model', 'backbone')


class ExportError(ToolError):
    """An export that cannot be done as asked, or whose result disagrees
    with PyTorch (a :class:`ToolError`: every tool reports it in one
    line, e.g. ``--onnx`` / ``--int8`` without onnxruntime)."""


class ExportedNetwork(nn.Module):
    """The tensor-in, tensors-out view of a segmentor or detector that is
    traced into ONNX.

    Args:
        model (nn.Module): An mmseg segmentor or mmdet detector.
        part (str): ``'model'`` or ``'backbone'``, see the module docstring.
        resize (bool): For ``part='model'``: resize the logits to the input
            size (bilinear, the segmentor's ``align_corners``).
    """

    def __init__(self, model: nn.Module, part: str = 'model',
                 resize: bool = True):
        super().__init__()
        if part not in PARTS:
            raise ExportError(f'part must be one of {PARTS}, got {part!r}')
        if part == 'model' and not hasattr(model, 'decode_head'):
            raise ExportError(
                f'{type(model).__name__} is not a segmentor: only its '
                "backbone + neck can be exported (--part backbone); "
                'detection heads need NMS / RoIAlign ops (mmdeploy)')
        self.model = model
        self.part = part
        self.resize = resize

    def forward(self, x: torch.Tensor):
        if self.part == 'backbone':
            return tuple(self.model.extract_feat(x))
        logits = self.model._forward(x)
        if self.resize:
            from mmseg.models.utils import resize
            logits = resize(logits, size=x.shape[2:], mode='bilinear',
                            align_corners=self.model.align_corners)
        return logits

    def output_names(self, x: torch.Tensor) -> List[str]:
        with torch.no_grad():
            out = self(x)
        if isinstance(out, torch.Tensor):
            return ['logits']
        return [f'feat{i}' for i in range(len(out))]


def export_onnx(model: nn.Module, path: str, shape: Sequence[int],
                batch: int = 1, part: str = 'model', resize: bool = True,
                opset: int = 17) -> List[str]:
    """Trace ``model`` (switched to eval mode) on a ``batch x 3 x H x W``
    input and write the ONNX graph to ``path``; return the output names.

    The input is named ``image``; its shape is fixed (``shape``), as the
    benchmark and deployment use one size. torch's TorchScript-based
    exporter is used (``dynamo=False``): the torch.export one needs the
    ``onnxscript`` package and cannot trace mmseg's data-dependent Python.
    """
    model.eval()
    net = ExportedNetwork(model, part, resize).eval()
    x = torch.zeros(batch, 3, *shape)
    names = net.output_names(x)
    import warnings
    with warnings.catch_warnings():
        # the exporter warns about its own deprecation and about every
        # Python-side shape computation it freezes into constants
        warnings.simplefilter('ignore')
        torch.onnx.export(
            net, (x, ), path, dynamo=False, opset_version=opset,
            input_names=['image'], output_names=names,
            do_constant_folding=True)
    if not osp.isfile(path):
        raise ExportError(f'the exporter wrote nothing to {path}')
    return names


def onnx_session(path: str, threads: Optional[int] = None):
    """An onnxruntime CPU session of ``path`` using ``threads`` intra-op
    threads (default: torch's thread count, so both run alike)."""
    try:
        import onnxruntime as ort
    except ImportError as err:
        raise ExportError(
            'onnxruntime is not installed: pip install onnxruntime==1.20.1 '
            '(requirements/pinned.txt)') from err
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.inter_op_num_threads = 1
    # onnxruntime's workers spin after each run by default, stealing the
    # cores from whatever runs next (PyTorch, in a side-by-side timing)
    opts.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return ort.InferenceSession(
        path, sess_options=opts, providers=['CPUExecutionProvider'])


def run_session(session, x: torch.Tensor) -> List[torch.Tensor]:
    """The session's outputs for the image batch ``x``, as tensors."""
    outs = session.run(None, {'image': x.detach().cpu().numpy()})
    return [torch.from_numpy(np.asarray(o)) for o in outs]


def torch_outputs(model: nn.Module, x: torch.Tensor, part: str = 'model',
                  resize: bool = True) -> List[torch.Tensor]:
    """What the exported graph should return, computed by PyTorch."""
    net = ExportedNetwork(model.eval(), part, resize)
    with torch.no_grad():
        out = net(x)
    return [out] if isinstance(out, torch.Tensor) else list(out)


def max_rel_error(got: Sequence[torch.Tensor],
                  ref: Sequence[torch.Tensor]) -> float:
    """The largest ``||a - b|| / ||b||`` over paired outputs; raises when
    their numbers or shapes differ."""
    return compare.max_rel_error(got, ref, ('onnxruntime', 'PyTorch'),
                                 ExportError)



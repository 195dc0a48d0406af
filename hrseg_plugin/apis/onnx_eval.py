"""Evaluate an exported ONNX network (float32 or int8) on a config's test
set through onnxruntime, with the config's own evaluator
(``tools/test.py CONFIG MODEL.onnx``).

Everything but the network is the PyTorch model's: the test dataloader and
pipeline, the data preprocessor, mmseg's whole / slide inference, the
resizing of the logits and the post-processing (padding cropped, resized
to the original image, arg-max), and the ``test_evaluator`` (``IoUMetric``
...). Only ``encode_decode``, the network from the normalised batch to the
logits, runs in onnxruntime. So the drop from float32 to int8 is measured
by the same metric on the same images.
"""
from typing import Optional

import numpy as np
import torch

from .cli import ToolError
from .onnx_export import onnx_session


def is_onnx_model(path: str) -> bool:
    """Whether ``path`` names an ONNX model (by its suffix)."""
    return str(path).lower().endswith('.onnx')


class OnnxEncodeDecode:
    """A segmentor's ``encode_decode`` run by an onnxruntime session of the
    exported network (``image`` -> ``logits``), followed by the decode
    head's ``predict_by_feat`` (the logits resized to the padded input,
    as mmseg does).

    Args:
        session: An onnxruntime ``InferenceSession``.
        head (nn.Module): The segmentor's (last) decode head.
        path (str): The model file, for messages.
    """

    def __init__(self, session, head, path: str):
        self.session = session
        self.head = head
        self.path = path
        self.input = session.get_inputs()[0]

    def _check(self, x: torch.Tensor) -> None:
        want = self.input.shape
        fixed = all(isinstance(d, int) for d in want)
        if fixed and tuple(want) != tuple(x.shape):
            raise ToolError(
                f'{self.path} takes images of {"x".join(map(str, want))} '
                f'but the test pipeline gives {"x".join(map(str, x.shape))}'
                ': export it with --shape H W (and --batch N) of the test '
                "images (the size after the config's test pipeline; for "
                "test_cfg mode='slide', the crop size)")

    def __call__(self, inputs: torch.Tensor, batch_img_metas) -> torch.Tensor:
        x = inputs.float().contiguous()
        self._check(x)
        (logits, ) = self.session.run(None, {self.input.name: x.numpy()})
        logits = torch.from_numpy(np.asarray(logits))
        return self.head.predict_by_feat(logits, batch_img_metas)


def evaluate_onnx(cfg, path: str, threads: Optional[int] = None,
                  progress: bool = True) -> dict:
    """Evaluate the ONNX model ``path`` on the config's test set.

    Args:
        cfg (mmengine.Config): A segmentation (mmseg) config.
        path (str): An ONNX model written by ``tools/export_onnx.py``
            (``--part model``; float32 or ``--int8``).
        threads (int, optional): onnxruntime intra-op threads (default:
            torch's thread count).
        progress (bool): Show a progress bar.

    Returns:
        dict: The metrics of the config's ``test_evaluator``.
    """
    if cfg.get('default_scope', 'mmseg') != 'mmseg':
        raise ToolError(
            'ONNX models are evaluated for segmentation (mmseg) configs '
            'only: a detector exports its backbone + neck, not the boxes')
    from mmengine.evaluator import Evaluator
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmseg.registry import MODELS
    from tqdm import tqdm
    init_default_scope('mmseg')
    session = onnx_session(path, threads)
    if len(session.get_outputs()) != 1:
        raise ToolError(
            f'{path} has {len(session.get_outputs())} outputs: it is a '
            'backbone export (--part backbone); evaluating needs the whole '
            'network (image -> logits)')
    # weights are not needed: the network runs in onnxruntime; the model
    # gives the data preprocessor, the inference modes and post-processing
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
    head = model.decode_head
    if isinstance(head, torch.nn.ModuleList):  # a cascade: the last one
        head = head[-1]
    model.encode_decode = OnnxEncodeDecode(session, head, path)
    dataloader = Runner.build_dataloader(cfg.test_dataloader)
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataloader.dataset.metainfo
    with torch.no_grad():
        for data in tqdm(dataloader, desc='onnxruntime', unit='img',
                         disable=not progress):
            outputs = model.test_step(data)
            evaluator.process(data_samples=outputs, data_batch=data)
    return evaluator.evaluate(len(dataloader.dataset))

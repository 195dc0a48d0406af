"""Static int8 quantization of an exported ONNX network with onnxruntime
(``tools/export_onnx.py --int8``, ``tools/benchmark.py --onnx --int8``).

What is written: a QDQ model (``QuantizeLinear`` / ``DequantizeLinear``
pairs around the quantized ops, which onnxruntime's CPU provider fuses into
integer kernels: ``QLinearConv`` ...), with

- weights quantized per output channel, signed int8 (symmetric);
- activations unsigned int8 with a zero point, their ranges calibrated
  (min / max) on real images: N images of the config's train split (or val
  split) through the config's *test* pipeline and the model's data
  preprocessor, exactly what the network sees at test time;
- the ops of :data:`FLOAT_OP_TYPES` left in float32: OCR's pixel-object
  attention (its ``MatMul`` products and ``Softmax``), where the MACs are
  few and the similarity logits before the softmax need more than 256
  levels; the scaling, reshapes and transposes that read their outputs
  (:data:`FLOAT_FOLLOWERS`) stay float with them, so the attention runs in
  float from the int8 features it reads to the conv that reads its
  result. Every conv, the additions and products of the residual blocks
  and attention modules, resizes and poolings run in int8.

The network's input stays the float normalised image and its output the
float logits, so a quantized file replaces a float one anywhere.
"""
import os
import os.path as osp
import tempfile
from typing import Iterable, List, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .onnx_export import ExportError

#: Op types kept in float32 by default (see the module docstring).
FLOAT_OP_TYPES = ('MatMul', 'Softmax')
#: Ops that stay float too when they read a float op's output (the scaling
#: of the attention logits between OCR's MatMul and Softmax, reshapes).
FLOAT_FOLLOWERS = ('Mul', 'Div', 'Add', 'Sub', 'Transpose', 'Reshape',
                   'Squeeze', 'Unsqueeze', 'Flatten')
#: Splits the calibration images can come from.
CALIBRATION_SPLITS = ('train', 'val')


def _require_quantization():
    try:
        from onnxruntime import quantization
    except ImportError as err:
        raise ExportError(
            'onnxruntime is not installed: pip install onnxruntime==1.20.1 '
            '(requirements/pinned.txt)') from err
    return quantization


def quantize_int8(float_path: str, out_path: str,
                  batches: Iterable[np.ndarray],
                  float_op_types: Sequence[str] = FLOAT_OP_TYPES,
                  per_channel: bool = True) -> List[str]:
    """Write the int8 QDQ model of the float ONNX model ``float_path`` to
    ``out_path``; return the op types left in float.

    Args:
        float_path (str): An ONNX model with one input named ``image``.
        out_path (str): Where to write the quantized model.
        batches (Iterable[np.ndarray]): Calibration inputs, each of the
            input's shape (float32, normalised images).
        float_op_types (Sequence[str]): Op types not to quantize.
        per_channel (bool): One weight scale per output channel.

    Returns:
        list[str]: The op types of the graph that stay in float (those of
        ``float_op_types`` that the graph has).
    """
    q = _require_quantization()
    import onnx
    batches = list(batches)
    if not batches:
        raise ExportError('no calibration images: --calib must be >= 1')
    graph_ops = {n.op_type for n in onnx.load(float_path).graph.node}
    # onnxruntime's own default set (its QDQ and QLinear op registries)
    # minus the float ones
    supported = set(q.registry.QDQRegistry) | \
        set(q.registry.QLinearOpsRegistry)
    quantized = sorted(supported & graph_ops - set(float_op_types))

    class Reader(q.CalibrationDataReader):

        def __init__(self):
            self.items = iter(batches)

        def get_next(self):
            batch = next(self.items, None)
            return None if batch is None else {'image': batch}

    with tempfile.TemporaryDirectory() as tmp:
        # symbolic shape inference and graph optimisation first, as
        # onnxruntime recommends for static quantization
        pre = osp.join(tmp, 'pre.onnx')
        q.shape_inference.quant_pre_process(float_path, pre)
        q.quantize_static(
            pre, out_path, Reader(), quant_format=q.QuantFormat.QDQ,
            op_types_to_quantize=quantized, per_channel=per_channel,
            nodes_to_exclude=float_nodes(onnx.load(pre).graph,
                                         float_op_types),
            activation_type=q.QuantType.QUInt8,
            weight_type=q.QuantType.QInt8,
            calibrate_method=q.CalibrationMethod.MinMax,
            extra_options=dict(WeightSymmetric=True,
                               ActivationSymmetric=False))
    if not osp.isfile(out_path):
        raise ExportError(f'the quantizer wrote nothing to {out_path}')
    return sorted(graph_ops & set(float_op_types))


def float_nodes(graph, float_op_types: Sequence[str]) -> List[str]:
    """The names of the nodes that stay float: those of
    ``float_op_types`` and, transitively, the :data:`FLOAT_FOLLOWERS` that
    read only float nodes' outputs (or constants)."""
    producers = {out: node for node in graph.node for out in node.output}
    names = {n.name for n in graph.node if n.op_type in float_op_types}
    changed = True
    while changed:
        changed = False
        for node in graph.node:
            if node.name in names or node.op_type not in FLOAT_FOLLOWERS:
                continue
            sources = [producers[i] for i in node.input if i in producers]
            if sources and all(p.name in names for p in sources):
                names.add(node.name)
                changed = True
    return sorted(names)


def _dataset_cfg(cfg, split: str):
    """The dataset config of ``split`` (wrappers such as RepeatDataset
    unwrapped) with the config's test pipeline."""
    import copy
    loader = f'{split}_dataloader'
    if loader not in cfg:
        raise ExportError(f'the config has no {loader} to calibrate on')
    ds = copy.deepcopy(cfg[loader]['dataset'])
    while 'pipeline' not in ds and 'dataset' in ds:
        ds = ds['dataset']
    test = cfg.test_dataloader['dataset']
    while 'pipeline' not in test and 'dataset' in test:
        test = test['dataset']
    ds['pipeline'] = copy.deepcopy(test['pipeline'])
    return ds


def calibration_batches(cfg, model: torch.nn.Module, shape: Sequence[int],
                        num: int, split: str = 'train',
                        batch: int = 1) -> List[np.ndarray]:
    """``num`` images of the config's ``split``, evenly spaced over it,
    through the config's test pipeline and ``model.data_preprocessor`` (the
    network's input at test time), resized (bilinear) to ``shape`` when the
    pipeline gives another size, grouped ``batch`` per array.

    Args:
        cfg (mmengine.Config): The loaded config.
        model (nn.Module): The model (its data preprocessor is used).
        shape (Sequence[int]): (H, W) of the exported network.
        num (int): Number of images (>= 1).
        split (str): ``'train'`` or ``'val'``.
        batch (int): Images per array (the exported batch size).

    Returns:
        list[np.ndarray]: Float32 arrays of (batch, 3, H, W).
    """
    if split not in CALIBRATION_SPLITS:
        raise ExportError(f'calibration split must be one of '
                          f'{CALIBRATION_SPLITS}, got {split!r}')
    if num < 1:
        raise ExportError(f'--calib must be >= 1, got {num}')
    from mmengine.registry import DATASETS, init_default_scope
    from .config import CHECKED_IMAGE_LOADER
    from .data_checks import check_data_folders
    check_data_folders(cfg, (f'{split}_dataloader', ))
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    ds_cfg = _dataset_cfg(cfg, split)
    for step in ds_cfg['pipeline']:
        step['type'] = CHECKED_IMAGE_LOADER.get(step['type'], step['type'])
    dataset = DATASETS.build(ds_cfg)
    if len(dataset) == 0:
        raise ExportError(f'the {split} split of the config has no images')
    indices = np.linspace(0, len(dataset) - 1, min(num, len(dataset)))
    images = []
    with torch.no_grad():
        for i in sorted({int(round(k)) for k in indices}):
            item = dataset[i]
            data = model.data_preprocessor(
                dict(inputs=[item['inputs']],
                     data_samples=[item['data_samples']]), False)
            x = data['inputs'].float()
            if tuple(x.shape[2:]) != tuple(shape):
                x = F.interpolate(x, size=tuple(shape), mode='bilinear',
                                  align_corners=False)
            images.append(x)
    while len(images) % batch:  # fill the last batch
        images.append(images[len(images) % batch])
    return [torch.cat(images[k:k + batch]).numpy()
            for k in range(0, len(images), batch)]


def random_batches(shape: Sequence[int], num: int, batch: int = 1,
                   seed: int = 100, channels: int = 3) -> List[np.ndarray]:
    """Standard-normal inputs standing in for normalised images: what
    ``tools/benchmark.py --int8`` calibrates its random-weight model on
    (timing does not depend on the ranges found)."""
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, channels, *shape, generator=gen).numpy()
            for _ in range(num)]


def argmax_agreement(got: torch.Tensor, ref: torch.Tensor) -> float:
    """The fraction of pixels whose arg-max class is the same in two
    (N, K, H, W) logit maps."""
    return (got.argmax(1) == ref.argmax(1)).float().mean().item()


def file_mib(path: str) -> float:
    """A file's size in MiB."""
    return os.path.getsize(path) / 2**20


def export_int8(cfg, model: torch.nn.Module, float_path: str, out_path: str,
                shape: Sequence[int], batch: int = 1, num_calib: int = 32,
                split: str = 'train') -> dict:
    """Quantize the float export ``float_path`` of ``model`` into
    ``out_path``, calibrated on ``num_calib`` images of the config's
    ``split`` (:func:`calibration_batches`), and compare the two models on
    those images.

    Returns:
        dict: ``float_op_types`` (left in float), ``images`` (calibration
        images), ``float_mib`` / ``int8_mib`` (file sizes), ``agreement``
        (fraction of pixels whose arg-max class the int8 model keeps) and
        ``rel_difference`` (relative difference of the logits), both on the
        calibration images.
    """
    from .onnx_export import max_rel_error, onnx_session, run_session
    batches = calibration_batches(cfg, model, shape, num_calib, split, batch)
    float_ops = quantize_int8(float_path, out_path, batches)
    ref_session, int8_session = onnx_session(float_path), \
        onnx_session(out_path)
    agree, rel = [], []
    for b in batches:
        x = torch.from_numpy(b)
        ref, got = run_session(ref_session, x), run_session(int8_session, x)
        agree.append(argmax_agreement(got[0], ref[0]))
        rel.append(max_rel_error(got, ref))
    return dict(float_op_types=float_ops, images=len(batches) * batch,
                float_mib=file_mib(float_path), int8_mib=file_mib(out_path),
                agreement=float(np.mean(agree)), rel_difference=max(rel))


def int8_benchmark_step(float_path: str, out_path: str, x: torch.Tensor,
                        num_calib: int = 4):
    """``tools/benchmark.py --onnx --int8``: quantize the float export of
    the timed network, calibrated on ``num_calib`` random batches of ``x``'s
    shape (:func:`random_batches`), and return a step running it on ``x``
    and the arg-max agreement of its logits with the float export's."""
    from .onnx_export import onnx_session, run_session
    quantize_int8(float_path, out_path,
                  random_batches(x.shape[2:], num_calib, x.shape[0]))
    session = onnx_session(out_path)
    agreement = argmax_agreement(
        run_session(session, x)[0], run_session(onnx_session(float_path),
                                                x)[0])
    return (lambda: run_session(session, x)), agreement

"""Checked loading of training data.

* ``hrseg_plugin.LoadImageFromFile``: mmcv's ``LoadImageFromFile``, but an
  unreadable or truncated image (also a truncated JPEG, which OpenCV decodes
  silently with grey rows: :mod:`.image_integrity`) raises a
  :class:`~hrseg_plugin.errors.DataError` (a ``ValueError``, which the tools
  print as one line, also from a data-loader worker) naming the file
  (stock mmcv raises whatever the decoder raised, or an ``AssertionError``
  that ``python -O`` removes), or, with ``skip_unreadable=True``, is
  skipped: the transform returns None and mmengine's ``BaseDataset`` draws
  another sample. Every skip is logged with the file and the number skipped
  so far; the count is shared by the data-loader workers (forked workers,
  the Linux default) and ``hrseg_plugin.SkippedImagesHook`` reports the
  total at the end of training, validation and testing.
* ``hrseg_plugin.LoadSegAnnotations``: mmseg's ``LoadAnnotations`` (same
  arguments) plus ``num_classes`` / ``ignore_index``: a label file that
  cannot be decoded, or whose size is not its image's, raises a
  ``DataError`` naming it, and the label values are checked as by
  ``CheckSegLabels``. The configs use it in place of
  ``LoadAnnotations``, so pipeline indices do not move.
* ``hrseg_plugin.CheckSegLabels``: put right after ``LoadAnnotations``;
  raises a ``ValueError`` naming the label file and the offending values
  when a label is outside ``[0, num_classes)`` and is not the ignore index.
  Without it, such labels make the cross-entropy loss index out of range
  (an obscure ``IndexError``/CUDA assert) or silently train on nonsense.
"""
import logging
import multiprocessing
import os.path as osp

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms import LoadImageFromFile as _MMCVLoadImageFromFile
from mmengine.logging import print_log
from mmseg.datasets.transforms import LoadAnnotations as _MMSegLoadAnnotations

from hrseg_plugin.errors import CheckError, DataError
from hrseg_plugin.registry import TRANSFORMS
from .image_integrity import file_truncation


def _shared_counter():
    """An integer in shared memory, inherited by forked data-loader workers
    (created at import, in the main process, before they fork); a plain
    per-process one where fork is unavailable."""
    if 'fork' in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context('fork').Value('q', 0)

    class _Local:
        value = 0

        def get_lock(self):
            import contextlib
            return contextlib.nullcontext()

    return _Local()


_SKIPPED = _shared_counter()


def skipped_images() -> int:
    """Images skipped as unreadable so far, by this process and the
    data-loader workers it forked."""
    return _SKIPPED.value


@TRANSFORMS.register_module()
class LoadImageFromFile(_MMCVLoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with a clear error for unreadable files.

    Args:
        skip_unreadable (bool): Skip (True) an image that cannot be read or
            decoded instead of raising. Default: False.
        **kwargs: Arguments of mmcv's ``LoadImageFromFile``.
    """

    def __init__(self, skip_unreadable: bool = False, **kwargs):
        if kwargs.get('ignore_empty'):
            raise CheckError(
                'hrseg_plugin.LoadImageFromFile: use skip_unreadable=True '
                'instead of ignore_empty=True')
        super().__init__(**kwargs)
        self.skip_unreadable = skip_unreadable

    def transform(self, results: dict):
        filename = results['img_path']
        try:
            out = super().transform(results)
            error = None
        except Exception as exc:  # decoder / file errors vary by backend
            out, error = None, exc
        truncated = None
        if out is not None and out.get('img') is not None \
                and out['img'].size > 0:
            # OpenCV decodes a truncated JPEG silently (grey rows)
            truncated = file_truncation(filename)
            if truncated is None:
                return out
        reason = truncated or (f'{type(error).__name__}: {error}' if error
                               is not None else 'truncated or not an image')
        if not osp.isfile(filename) and '://' not in str(filename):
            reason = 'no such file'
        if self.skip_unreadable:
            with _SKIPPED.get_lock():
                _SKIPPED.value += 1
                count = _SKIPPED.value
            print_log(
                f'skipped unreadable image {filename} ({reason}); '
                f'{count} image(s) skipped so far',
                logger='current',
                level=logging.WARNING)
            return None
        raise DataError(
            f'cannot read image {filename}: {reason}. Replace or delete the '
            'file, or set skip_unreadable=True in the LoadImageFromFile '
            'step of the pipeline to skip such images') from error

    def __repr__(self):
        return (super().__repr__()[:-1] +
                f', skip_unreadable={self.skip_unreadable})')


def check_seg_labels(results: dict, num_classes: int,
                     ignore_index: int) -> None:
    """Raise a ValueError naming the label file when ``gt_seg_map`` has a
    value outside ``[0, num_classes)`` other than ``ignore_index``."""
    seg = results.get('gt_seg_map', None)
    if seg is None:
        raise DataError(
            'CheckSegLabels: no gt_seg_map in the sample of '
            f"{results.get('img_path')}; put it after LoadAnnotations")
    values = np.unique(seg)
    bad = values[((values < 0) | (values >= num_classes))
                 & (values != ignore_index)]
    if bad.size:
        shown = ', '.join(str(v) for v in bad[:10].tolist())
        more = f' (and {bad.size - 10} more)' if bad.size > 10 else ''
        raise DataError(
            f"label file {results.get('seg_map_path')} has values "
            f'{shown}{more} outside [0, {num_classes}) that are not '
            f'the ignore index {ignore_index}. Convert the labels '
            'to train ids (Cityscapes: *_labelTrainIds.png from '
            "mmseg's tools/dataset_converters/cityscapes.py), or fix "
            'num_classes / reduce_zero_label / ignore_index in the '
            'config')


def check_label_size(results: dict) -> None:
    """Raise a ValueError naming both files when the label map's size is not
    its image's (``ori_shape``, the image as read): stock mmseg crops and
    flips both together anyway, so every sample would be silently
    misaligned."""
    seg, shape = results.get('gt_seg_map'), results.get('ori_shape')
    if seg is None or shape is None or tuple(seg.shape[:2]) == tuple(
            shape[:2]):
        return
    raise DataError(
        f"label file {results.get('seg_map_path')} is "
        f'{seg.shape[0]}x{seg.shape[1]} (HxW) but its image '
        f"{results.get('img_path')} is {shape[0]}x{shape[1]}: image and label "
        'must have the same size. Check that data_prefix / img_suffix / '
        'seg_map_suffix pair each image with its own label map, or resize '
        'the label maps (nearest neighbour) to their images')


def _check_num_classes(name, num_classes):
    if not (isinstance(num_classes, int) and num_classes > 0):
        raise CheckError(f'{name}: num_classes must be a positive int, got '
                         f'{num_classes!r}')


@TRANSFORMS.register_module()
class CheckSegLabels(BaseTransform):
    """Check that every value of ``gt_seg_map`` is a class index in
    ``[0, num_classes)`` or ``ignore_index``.

    Args:
        num_classes (int): Number of classes of the model's heads.
        ignore_index (int): Label value ignored by the loss. Default: 255.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255):
        _check_num_classes('CheckSegLabels', num_classes)
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        check_seg_labels(results, self.num_classes, self.ignore_index)
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')


@TRANSFORMS.register_module()
class LoadSegAnnotations(_MMSegLoadAnnotations):
    """mmseg's ``LoadAnnotations`` with a clear error for an unreadable
    label file and, when ``num_classes`` is given, the label check of
    :class:`CheckSegLabels`.

    Args:
        num_classes (int, optional): Number of classes; None skips the
            value check.
        ignore_index (int): Label value ignored by the loss. Default: 255.
        **kwargs: Arguments of mmseg's ``LoadAnnotations``.
    """

    def __init__(self, num_classes=None, ignore_index: int = 255, **kwargs):
        super().__init__(**kwargs)
        if num_classes is not None:
            _check_num_classes('LoadSegAnnotations', num_classes)
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def _load_seg_map(self, results: dict) -> None:
        if 'seg_map_path' not in results:
            # an image without a label: mmseg's inference_model removes
            # the stock LoadAnnotations from the test pipeline by its type
            # name, which does not match ours (dataset samples always carry
            # the key, None or a path)
            return
        filename = results.get('seg_map_path')
        try:
            super()._load_seg_map(results)
        except Exception as exc:
            reason = ('no such file' if filename and '://' not in
                      str(filename) and not osp.isfile(filename) else
                      f'{type(exc).__name__}: {exc}')
            raise DataError(f'cannot read label file {filename}: '
                             f'{reason}') from exc
        check_label_size(results)
        if self.num_classes is not None:
            check_seg_labels(results, self.num_classes, self.ignore_index)

    def __repr__(self):
        return (super().__repr__()[:-1] +
                f', num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')

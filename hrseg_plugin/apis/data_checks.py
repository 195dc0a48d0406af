"""Data folders a config reads: checked before the runner and its workers
start, with the commands that prepare a known data set when one is
missing."""
import logging
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from .cli import ToolError, log_message


def _converter(name: str) -> str:
    """Path of a stock mmseg dataset converter, relative to the current
    directory when it lies below it (found without importing mmseg)."""
    import importlib.util
    spec = importlib.util.find_spec('mmseg')
    base = (osp.dirname(spec.origin) if spec and spec.origin else
            '<site-packages>/mmseg')
    path = osp.join(base, '.mim', 'tools', 'dataset_converters', name)
    rel = osp.relpath(path)
    return rel if not rel.startswith('..') else path


def dataset_prepare_hint(dataset_type: str, data_root: str) -> Optional[str]:
    """The command(s) that prepare a known data set in ``data_root`` (the
    README's "Datasets" section gives them in full), or None."""
    root = data_root.rstrip('/') or '.'
    if dataset_type == 'CityscapesDataset':
        return ('download leftImg8bit_trainvaltest.zip and '
                'gtFine_trainvaltest.zip from cityscapes-dataset.com, unzip '
                f'them into {root}, then run `python '
                f"{_converter('cityscapes.py')} {root} --nproc 8` "
                '(writes the *_labelTrainIds.png label maps)')
    if dataset_type == 'ADE20KDataset':
        return ('download ADEChallengeData2016.zip (http://data.csail.mit.'
                'edu/places/ADEchallenge/ADEChallengeData2016.zip) and unzip '
                f'it into {osp.dirname(root) or "."}')
    if dataset_type in ('PascalContextDataset', 'PascalContextDataset59'):
        devkit = osp.dirname(root) or '.'
        return ('extract VOCtrainval_03-May-2010.tar into '
                f'{osp.dirname(devkit) or "."} and trainval_merged.json into '
                f'{root}, install the Detail API (pip install "git+https://'
                'github.com/zhanghang1989/detail-api.git#subdirectory='
                f'PythonAPI"), then run `python '
                f"{_converter('pascal_context.py')} {devkit} "
                f'{root}/trainval_merged.json` (writes '
                'SegmentationClassContext/)')
    if dataset_type in ('CocoDataset', 'CocoPanopticDataset'):
        return ('download train2017.zip, val2017.zip and '
                'annotations_trainval2017.zip from cocodataset.org and unzip '
                f'them into {root}')
    return None


def _iter_datasets(dataset_cfg):
    """Yield the leaf dataset dicts of a dataset config (through
    ConcatDataset / RepeatDataset / ClassBalancedDataset /
    MultiImageMixDataset wrappers)."""
    if not isinstance(dataset_cfg, dict):
        return
    if 'datasets' in dataset_cfg:
        for sub in dataset_cfg['datasets']:
            yield from _iter_datasets(sub)
    elif 'dataset' in dataset_cfg:
        yield from _iter_datasets(dataset_cfg['dataset'])
    else:
        yield dataset_cfg


def _dataset_paths(ds) -> List[Tuple[str, str]]:
    """``(what, path)`` of the folders and files a dataset dict reads."""
    root = ds.get('data_root', None) or ''
    paths = []
    if root:
        paths.append(('data root', root))
    prefix = ds.get('data_prefix', None) or {}
    if isinstance(prefix, dict):
        for key, value in prefix.items():
            if isinstance(value, str) and value:
                paths.append((f'data_prefix.{key}', osp.join(root, value)))
    ann_file = ds.get('ann_file', None)
    if isinstance(ann_file, str) and ann_file:
        paths.append(('ann_file', osp.join(root, ann_file)))
    return paths


def check_data_folders(cfg, dataloaders: Sequence[str]) -> None:
    """Fail early, before the runner and its workers start, when a folder
    or annotation file a dataloader reads is missing.

    Walks the dataset(s) of each named dataloader of the config (e.g.
    ``('train_dataloader', 'val_dataloader')``); remote paths
    (``s3://...``) are skipped.

    Raises:
        ToolError: naming the missing path, the dataloader, and for a known
            data set (Cityscapes, ADE20K, PASCAL-Context, COCO) the
            commands that prepare it.
    """
    for name in dataloaders:
        loader = cfg.get(name, None)
        if not isinstance(loader, dict):
            continue
        for ds in _iter_datasets(loader.get('dataset', None)):
            for what, path in _dataset_paths(ds):
                if '://' in path or osp.exists(path):
                    continue
                dataset_type = str(ds.get('type', 'unknown'))
                msg = (f'{name}: {what} {path} of {dataset_type} does not '
                       'exist')
                hint = dataset_prepare_hint(
                    dataset_type.split('.')[-1], ds.get('data_root', '') or
                    osp.dirname(path))
                if hint:
                    msg += f'; to prepare it: {hint}'
                msg += (" (or point the config's data_root elsewhere, e.g. "
                        f'--cfg-options {name}.dataset.data_root=DIR)')
                raise ToolError(msg)


def _dataset_class(cfg, type_name):
    import importlib
    scope = cfg.get('default_scope', None) or 'mmengine'
    try:
        datasets = importlib.import_module(f'{scope}.registry').DATASETS
    except (ImportError, AttributeError):
        from mmengine.registry import DATASETS as datasets
    if not isinstance(type_name, str):
        return None
    try:
        return datasets.get(type_name)
    except Exception:  # noqa: BLE001 - a scope that cannot be imported
        return None


def _argument_default(cls, name):
    import inspect
    for klass in getattr(cls, '__mro__', ()):
        init = vars(klass).get('__init__')
        if init is None:
            continue
        param = inspect.signature(init).parameters.get(name)
        if param is not None and param.default is not param.empty:
            return param.default
    return None


def _has_file_ending(folder: str, suffix: str) -> bool:
    for _, _, files in os.walk(folder, followlinks=True):
        if any(f.endswith(suffix) for f in files):
            return True
    return False


def check_images_present(cfg, dataloader: str) -> None:
    """Fail when a folder-listed segmentation data set (no ``ann_file``:
    mmseg lists ``data_prefix.img_path`` for files ending in
    ``img_suffix``) would have no image at all: an empty folder, or images
    of another suffix. mmengine would fail later with an error that names
    neither.

    Raises:
        ToolError: naming the folder, the suffix and the fix.
    """
    loader = cfg.get(dataloader, None)
    if not isinstance(loader, dict):
        return
    for ds in _iter_datasets(loader.get('dataset', None)):
        prefix = ds.get('data_prefix', None) or {}
        img_dir = prefix.get('img_path') if isinstance(prefix, dict) \
            else None
        if not img_dir or ds.get('ann_file'):
            continue
        folder = osp.join(ds.get('data_root', None) or '', img_dir)
        if '://' in folder or not osp.isdir(folder):
            continue
        suffix = ds.get('img_suffix', None) or _argument_default(
            _dataset_class(cfg, ds.get('type')), 'img_suffix')
        if not suffix or _has_file_ending(folder, suffix):
            continue
        raise ToolError(
            f'{dataloader}: {folder} has no images: no file in it (or its '
            f'sub-folders) ends in {suffix!r}, the img_suffix of '
            f"{ds.get('type')}; put the images there, or fix data_root / "
            'data_prefix.img_path / img_suffix (e.g. --cfg-options '
            f'{dataloader}.dataset.img_suffix=.png)')


def check_train_data_folders(cfg) -> None:
    """:func:`check_data_folders` for a training run: a missing training
    folder, or one without images, is an error; a missing validation
    folder (used only at the first validation) is logged as a warning with
    the same message."""
    check_data_folders(cfg, ('train_dataloader', ))
    check_images_present(cfg, 'train_dataloader')
    if cfg.get('val_cfg', None) and cfg.get('val_dataloader', None):
        try:
            check_data_folders(cfg, ('val_dataloader', ))
        except ToolError as exc:
            log_message(f'{exc}; validation will fail', logging.WARNING)


def config_dataset_meta(cfg, dataloaders: Sequence[str]) -> dict:
    """``dict(classes=..., palette=...)`` of the first of ``dataloaders``
    whose data set's classes the config tells (:func:`config_classes`; the
    palette from the same place, None when it gives none), or {}."""
    found = config_classes(cfg, dataloaders)
    for name in dataloaders:
        if name not in found:
            continue
        ds = next(_iter_datasets(cfg[name].get('dataset', None)))
        meta = ds.get('metainfo', None) or {}
        palette = meta.get('palette') if meta.get('classes') else None
        if palette is None and not meta.get('classes'):
            cls = _dataset_class(cfg, ds.get('type'))
            palette = (getattr(cls, 'METAINFO', None) or {}).get('palette')
        return dict(classes=found[name],
                    palette=list(palette) if palette else None)
    return {}


def config_classes(cfg, dataloaders: Sequence[str]) -> dict:
    """The class names of the data set of each named dataloader, as the
    config gives them (its ``metainfo=dict(classes=...)``, else the data
    set class's ``METAINFO``), found without building the data set.

    Returns:
        dict: Dataloader name -> class names (dataloaders whose classes
        cannot be told are left out).
    """
    found = {}
    for name in dataloaders:
        loader = cfg.get(name, None)
        if not isinstance(loader, dict):
            continue
        for ds in _iter_datasets(loader.get('dataset', None)):
            meta = ds.get('metainfo', None)
            classes = meta.get('classes') if isinstance(meta, dict) else None
            if not classes:
                cls = _dataset_class(cfg, ds.get('type'))
                classes = (getattr(cls, 'METAINFO', None) or {}).get(
                    'classes') if cls is not None else None
            if classes:
                found[name] = tuple(classes)
            break
    return found

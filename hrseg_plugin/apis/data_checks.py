"""Data folders a config reads: checked before the runner and its workers
start, with the commands that prepare a known data set when one is
missing."""
import logging
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


def check_train_data_folders(cfg) -> None:
    """:func:`check_data_folders` for a training run: a missing training
    folder is an error; a missing validation folder (used only at the
    first validation) is logged as a warning with the same message."""
    check_data_folders(cfg, ('train_dataloader', ))
    if cfg.get('val_cfg', None) and cfg.get('val_dataloader', None):
        try:
            check_data_folders(cfg, ('val_dataloader', ))
        except ToolError as exc:
            log_message(f'{exc}; validation will fail', logging.WARNING)

"""``--from timm``: timm / official ImageNet HRNet classifiers ->
hrseg_plugin.

Source models (read at these commits):

* huggingface/pytorch-image-models, commit
  ``aa4b5850c1543fa488abf260f18390eda46cf85d``, ``timm/models/hrnet.py``:
  ``HighResolutionNet`` (``hrnet_w18_small``, ``hrnet_w18_small_v2``,
  ``hrnet_w18`` ... ``hrnet_w64``) with the classification head
  (``head='classification'``);
* HRNet/HRNet-Image-Classification, commit
  ``f760c988482cdb8a1f69b10b219d669721144582``, ``lib/models/cls_hrnet.py``:
  the official ``HighResolutionNet``, which timm copied. Its keys are
  timm's (the official code keeps ``None`` where timm has an
  ``nn.Identity``; neither has parameters), so its released ImageNet
  checkpoints (``hrnetv2_w18_imagenet_pretrained.pth`` ...) convert with
  ``--from timm`` too.

Key mapping (timm -> ours: ``configs/cls_hrnet_w18_in1k.py``, mmpretrain's
``ImageClassifier`` with ``hrseg_plugin.HRNet``, ``hrseg_plugin.
HRNetClsNeck`` + ``GlobalAveragePooling`` and ``LinearClsHead``)::

    {conv1,bn1,conv2,bn2,layer1,transitionN,stageN}.*  -> backbone.<same>
    incre_modules.{i}.*            -> neck.0.increase_layers.{i}.*
    downsamp_modules.{i}.0.weight  -> neck.0.downsample_layers.{i}.conv.weight
    downsamp_modules.{i}.0.bias    -> folded: neck.0.downsample_layers.{i}.bn
    downsamp_modules.{i}.1.*       -> neck.0.downsample_layers.{i}.bn.*
    final_layer.0.weight           -> neck.0.final_layer.conv.weight
    final_layer.0.bias             -> folded: neck.0.final_layer.bn
    final_layer.1.*                -> neck.0.final_layer.bn.*
    classifier.{weight,bias}       -> head.fc.{weight,bias}

Bias folding: timm's (``head_conv_bias=True``, the default) and the
official downsample and final convs have a bias and are followed by a
BatchNorm; ours (= mmpretrain's ``HRFuseScales``) have none. Since
``BN(conv(x) + b) == BN'(conv(x))`` with ``running_mean' = running_mean -
b`` (and in training the batch mean absorbs ``b``), the bias is folded into
the running mean: exact.

Both fuse their branches with nearest upsampling by a scale factor: the
model is ours with ``upsample_cfg=dict(mode='nearest')`` (the config's).
A ``module.`` prefix ((Distributed)DataParallel) is stripped; checkpoints
without any ``num_batches_tracked`` (torch < 0.4.1) get zeros. The
architecture (widths, blocks, modules, neck widths, classes) is read from
the checkpoint, which must then have exactly the keys and shapes of that
timm model, else the conversion is refused with the missing / unexpected /
shape-mismatched keys named.
"""
from collections import OrderedDict

from hrseg_plugin.utils.state_dicts import (DDP_PREFIX, compare_state_dicts,
                                            strip_prefix)
from ._hrnet import (infer_hrnet_arch, is_multiscale, our_key_shapes,
                     read_cls_neck_widths)
from ._keys import fill_num_batches_tracked, map_prefix
from .checks import extract_state_dict, raise_on_differences
from .registry import ConversionError, ConversionResult, register_converter

ORIGIN = 'timm'

#: Where the models this converter reads come from.
SOURCES = (
    'huggingface/pytorch-image-models@aa4b5850c1543fa488abf260f18390eda46cf85d'
    ' timm/models/hrnet.py',
    'HRNet/HRNet-Image-Classification@f760c988482cdb8a1f69b10b219d669721144582'
    ' lib/models/cls_hrnet.py')

_BACKBONE = ('conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition1',
             'stage2', 'transition2', 'stage3', 'transition3', 'stage4')


def key_map(num_branches: int):
    """The key mapping of a classifier with ``num_branches`` HRNet
    branches: (timm key prefix, our key prefix) rows; every key of either
    model but the folded biases starts with exactly one prefix of its
    column."""
    return (
        *((f'{m}.', f'backbone.{m}.') for m in _BACKBONE),
        ('incre_modules.', 'neck.0.increase_layers.'),
        *((f'downsamp_modules.{i}.{a}.', f'neck.0.downsample_layers.{i}.{b}.')
          for i in range(num_branches - 1) for a, b in (('0', 'conv'),
                                                        ('1', 'bn'))),
        ('final_layer.0.', 'neck.0.final_layer.conv.'),
        ('final_layer.1.', 'neck.0.final_layer.bn.'),
        ('classifier.', 'head.fc.'),
    )


def folded_biases(num_branches: int) -> 'OrderedDict[str, str]':
    """timm / official biased head convs followed by a BatchNorm: conv
    bias key -> timm BN prefix (the bias is folded into that BN's running
    mean)."""
    return OrderedDict(
        [(f'downsamp_modules.{i}.0.bias', f'downsamp_modules.{i}.1')
         for i in range(num_branches - 1)] +
        [('final_layer.0.bias', 'final_layer.1')])


def _hint(sd) -> str:
    if any(k.startswith('backbone.') for k in sd):
        if any(k.startswith('neck.0.increase_layers.') for k in sd):
            return ('this looks like an mmpretrain / hrseg_plugin '
                    'classifier (backbone.* / neck.0.increase_layers.*): '
                    'use --from mmpretrain')
        return ("keys start with 'backbone.': an OpenMMLab checkpoint "
                '(--from mmseg / mmdet / mmpose / mmpretrain)')
    return ''


def timm_spec(sd) -> dict:
    """The timm classifier the keys describe: architecture and the exact
    key -> shape it has (our model of it, built on the meta device, with
    its keys mapped back through :func:`key_map`, plus the folded biases
    when the head convs have them).

    Raises:
        ConversionError: Naming the missing anchors (the backbone's, or the
            classification head's).
    """
    try:
        arch = infer_hrnet_arch(sd)
    except ConversionError as exc:
        hint = _hint(sd)
        raise ConversionError(f'{exc}\n  ({hint})' if hint else str(exc))
    anchors = ['incre_modules.0.0.conv1.weight', 'final_layer.0.weight',
               'classifier.weight']
    missing = [k for k in anchors if k not in sd]
    if missing:
        raise ConversionError(
            'refusing: not a timm / official HRNet classifier (head='
            "'classification'): missing keys:\n    " + '\n    '.join(
                missing) + ('\n  (an HRNet backbone without the ImageNet '
                            'head loads as a backbone init_cfg directly)'))
    branches = len(arch['out_channels'])
    head = read_cls_neck_widths(sd, branches, 'incre_modules.',
                                'final_layer.0.weight')
    head['num_classes'] = int(sd['classifier.weight'].shape[0])
    multiscale = is_multiscale(sd, arch, prefix='')
    rows = key_map(branches)
    spec = OrderedDict(
        (map_prefix(k, rows, 1), shape) for k, shape in our_key_shapes(
            arch, multiscale_output=multiscale, cls_head=head).items())
    conv_bias = 'final_layer.0.bias' in sd
    folds = folded_biases(branches) if conv_bias else OrderedDict()
    for bias, bn in folds.items():
        spec[bias] = spec[f'{bn}.running_mean']
    return dict(arch=arch, spec=spec, head=head, key_map=rows, folds=folds,
                multiscale=multiscale)


@register_converter(
    ORIGIN, 'timm hrnet_w18.. / official HRNet-Image-Classification ImageNet '
    'classifier -> hrseg_plugin.HRNet + HRNetClsNeck + LinearClsHead '
    '(configs/cls_hrnet_*_in1k.py)')
def convert_timm(checkpoint: dict,
                 progress: bool = False) -> ConversionResult:
    """Convert a timm (or official) HRNet ImageNet classifier.

    Args:
        checkpoint (dict): Loaded file: a bare state dict (timm's
            ``model.state_dict()``, the official release) or one under
            ``'state_dict'`` / ``'model'``; a ``module.`` prefix is
            stripped.
        progress (bool): Show a tqdm progress bar over the keys.

    Returns:
        ConversionResult: State dict of our classification config, and meta
        with the inferred architecture and the folded biases.

    Raises:
        ConversionError: Not an HRNet classifier of that layout, or keys
            missing / unexpected / shape-mismatched (named).
    """
    from tqdm import tqdm

    raw, _, container = extract_state_dict(checkpoint)
    try:
        sd = strip_prefix(raw, DDP_PREFIX)
    except ValueError as e:
        raise ConversionError(str(e)) from None
    stripped = [DDP_PREFIX] if any(k.startswith(DDP_PREFIX)
                                   for k in raw) else []
    found = timm_spec(sd)
    spec, arch, head = found['spec'], found['arch'], found['head']
    synthesized = fill_num_batches_tracked(sd, spec)
    widths = list(arch['stage4']['num_channels'])
    raise_on_differences(
        *compare_state_dicts(sd, spec),
        'refusing to convert: the checkpoint does not match the timm HRNet '
        f'classifier it describes (widths {widths}, '
        f'{head["num_classes"]} classes)',
        hint=_hint(sd))
    if not found['multiscale']:
        raise ConversionError('refusing: the HRNet outputs only its first '
                              'branch, but the classification head takes '
                              'all of them')

    out = OrderedDict()
    for key in tqdm(spec, desc=f'converting ({ORIGIN})', unit='key',
                    disable=not progress, leave=False):
        if key not in found['folds']:
            out[map_prefix(key, found['key_map'], 0)] = sd[key]
    folds = []
    for bias, bn in found['folds'].items():
        target = map_prefix(f'{bn}.running_mean', found['key_map'], 0)
        mean = out[target]
        out[target] = (mean.double() - sd[bias].double()).to(mean.dtype)
        folds.append(dict(bias=bias, into=target,
                          rule='running_mean := running_mean - bias'))
    meta = dict(
        origin=ORIGIN,
        source_repo=list(SOURCES),
        source_container=container,
        stripped_prefixes=stripped,
        arch=dict(widths=widths,
                  stages={s: dict(arch[s]) for s in
                          ('stage1', 'stage2', 'stage3', 'stage4')},
                  incre_channels=head['incre_channels'],
                  out_channels=head['out_channels'],
                  num_classes=head['num_classes']),
        folded_biases=folds,
        num_batches_tracked='synthesized (zeros)' if synthesized else 'kept',
        reproduce_with=dict(
            backbone=dict(type='hrseg_plugin.HRNet',
                          upsample_cfg=dict(mode='nearest')),
            neck=[dict(type='hrseg_plugin.HRNetClsNeck',
                       incre_channels=head['incre_channels'],
                       out_channels=head['out_channels'],
                       global_pool=False),
                  dict(type='GlobalAveragePooling')],
            head=dict(type='LinearClsHead',
                      num_classes=head['num_classes'],
                      in_channels=head['out_channels'])))
    return ConversionResult(out, meta)

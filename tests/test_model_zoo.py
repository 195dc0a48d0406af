"""README's model zoo: every row's config exists, and its route (``load_from``
or ``tools/convert_weights.py --from X``) turns the upstream model's keys and
shapes into exactly those of the config's model.

The upstream model of a row is built from the stock config it names (on the
meta device: keys and shapes only, no memory) or, for the official HRNet-OCR
and CoinCheung's BiSeNetV1, from our re-implementations of their code in
``tests/reference`` (on the CPU, with random weights). No file is downloaded.
"""
import argparse
import importlib
import os
import re
import shlex

import pytest
import torch

from helpers import import_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, 'README.md')


def zoo_rows():
    """The rows of README's model-zoo table, as dicts of its columns."""
    text = open(README, encoding='utf-8').read()
    table = text.split('<!-- model-zoo:start -->')[1].split(
        '<!-- model-zoo:end -->')[0]
    lines = [line for line in table.strip().splitlines()
             if line.startswith('|')]
    header = [c.strip() for c in lines[0].strip('|').split('|')]
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        rows.append(dict(zip(header, cells)))
    return rows


def codes(cell):
    """The `code` spans of a table cell."""
    return re.findall(r'`([^`]+)`', cell)


ROWS = zoo_rows()


def test_table_covers_every_full_size_config():
    """Each config outside configs/demo and configs/_base_ has a row."""
    listed = {c for row in ROWS for c in codes(row['config'])}
    configs = {f'configs/{f}' for f in os.listdir(os.path.join(ROOT,
                                                               'configs'))
               if f.endswith('.py')}
    assert configs - listed == set(), 'configs without a model-zoo row'
    assert all(os.path.isfile(os.path.join(ROOT, c)) for c in listed)


def build(config, options=None, meta=True):
    """A model of an mmseg / mmdet config (``mmseg::`` / ``mmdet::`` paths
    resolve to the installed packages' configs)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.utils import get_installed_path
    if '::' in config:
        package, rel = config.split('::')
        config = os.path.join(get_installed_path(package), '.mim',
                              'configs', rel)
    else:
        config = os.path.join(ROOT, config)
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
    scope = cfg.get('default_scope', 'mmseg')
    init_default_scope(scope)
    registry = importlib.import_module(f'{scope}.registry').MODELS
    if meta:
        with torch.device('meta'):
            return registry.build(cfg.model)
    return registry.build(cfg.model)


def shapes(state_dict):
    return {k: tuple(v.shape) for k, v in state_dict.items()}


def route_options(route):
    """``--cfg-options`` of a route cell, as a dict."""
    from mmengine.config import DictAction
    words = [w for code in codes(route) for w in shlex.split(code)]
    pairs = [w for w in words if '=' in w and not w.startswith('--')]
    if not pairs:
        return {}
    ns = argparse.Namespace(cfg_options=None)
    DictAction(option_strings=[], dest='cfg_options')(None, ns, pairs)
    return ns.cfg_options


def upstream_state_dict(row, ours):
    """The upstream model's state dict for a row whose upstream is a stock
    config (meta tensors) or official / CoinCheung code (CPU tensors, with
    the number of classes of ``ours``, our segmentor)."""
    upstream = row['upstream model']
    stock = codes(upstream)
    if stock and '::' in stock[0]:
        return build(stock[0]).state_dict()
    if upstream.startswith('official HRNet-OCR'):
        official = import_path(
            'hrseg_tests_official_hrnet_ocr_zoo',
            os.path.join(ROOT, 'tests', 'reference', 'official_hrnet_ocr.py'))
        cfg = official.get_config('w48', num_classes=num_classes_of(ours))
        return official.get_seg_model(cfg).state_dict()
    if upstream.startswith('CoinCheung/BiSeNet'):
        coincheung = import_path(
            'hrseg_tests_coincheung_zoo',
            os.path.join(ROOT, 'tests', 'reference', 'coincheung_bisenetv1.py'))
        return coincheung.BiSeNetV1(num_classes_of(ours)).state_dict()
    raise AssertionError(f'unknown upstream {upstream!r}')


def num_classes_of(model):
    head = model.decode_head
    head = head[-1] if isinstance(head, torch.nn.ModuleList) else head
    return head.num_classes


ROUTED = [r for r in ROWS if r['route'].startswith('`load_from`')
          or r['route'].startswith('`--from')]


def test_rows_without_checkpoint_say_so():
    for row in ROWS:
        if row not in ROUTED:
            assert row['upstream model'].startswith('none'), row
            assert row['checkpoint'] == '–', row


@pytest.mark.slow
@pytest.mark.parametrize(
    'row', ROUTED, ids=[codes(r['config'])[0] for r in ROUTED])
def test_route_gives_the_config_keys(row):
    from hrseg_plugin.converters import available_origins, convert_checkpoint
    config = codes(row['config'])[0]
    options = route_options(row['route'])
    ours = build(config, options)
    expected = shapes(ours.state_dict())
    route = codes(row['route'])[0]
    if route == 'load_from':
        got = shapes(upstream_state_dict(row, ours))
    else:
        origin = route.split()[1]
        assert origin in available_origins()
        sd = upstream_state_dict(row, ours)
        if any(v.is_meta for v in sd.values()):
            sd = {k: torch.zeros(v.shape, dtype=v.dtype)
                  for k, v in sd.items()}
        got = shapes(convert_checkpoint(origin, {'state_dict': sd})
                     .state_dict)
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    wrong = sorted(k for k in set(got) & set(expected)
                   if got[k] != expected[k])
    assert not (missing or unexpected or wrong), (
        f'{config}: missing {missing[:5]}, unexpected {unexpected[:5]}, '
        f'shape-mismatched {wrong[:5]}')

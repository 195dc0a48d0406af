"""Reliability (issue 7): a NaN loss stops training at its iteration, bad
data and bad inputs give clear errors naming the file / size / channels, an
all-ignore crop keeps the loss finite, CPU AMP keeps the demo losses finite
and every demo segmentation model returns outputs of the input's size.

Resume-after-SIGKILL and repeatability: tests/test_resume.py. Random
configurations and sizes: tests/test_properties.py.
"""
import copy
import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel, revert_sync_batchnorm
from mmengine.registry import init_default_scope

import hrseg_plugin  # noqa: F401  (registers)
from hrseg_plugin.datasets import (CheckSegLabels, LoadImageFromFile,
                                   LoadSegAnnotations)
from hrseg_plugin.datasets.transforms import skipped_images
from hrseg_plugin.engine import NonFiniteLossError, NonFiniteLossHook
from hrseg_plugin.models.backbones.bisenet import BiSeNet
from hrseg_plugin.models.backbones.hrnet import HRNet

REPO = Path(__file__).resolve().parents[1]
SEG_DEMOS = ['hrnet_ocr', 'bisenet_r18', 'spnet_r50', 'hrnet_w18_skconv_ocr']


def build_demo_model(name):
    """A fresh copy of the demo config's model (built once per session)."""
    return copy.deepcopy(_build_demo_model(name))


@functools.lru_cache(maxsize=None)
def _build_demo_model(name):
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(REPO / 'configs' / 'demo' / f'{name}.py'))
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    return model


def seg_batch(h, w, label_value=None, n=2, num_classes=19):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=g,
                                    dtype=torch.uint8))
        if label_value is None:
            seg = torch.randint(0, num_classes, (1, h, w), generator=g)
        else:
            seg = torch.full((1, h, w), label_value)
        s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                        pad_shape=(h, w)))
        s.gt_sem_seg = PixelData(data=seg.long())
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


# --------------------------------------------------------------------------
# numerics: stop at a NaN / Inf loss
# --------------------------------------------------------------------------
class ToyLossModel(BaseModel):
    """Two loss terms; ``loss_b`` is NaN from iteration ``bad_iter`` on."""

    def __init__(self, bad_iter, bad_value=float('nan')):
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)
        self.bad_iter, self.bad_value = bad_iter, bad_value
        self.calls = 0
        self.seen = []  # the weights each forward saw

    def forward(self, x, mode='loss'):
        x = torch.stack(x) if isinstance(x, list) else x
        self.calls += 1
        self.seen.append(copy.deepcopy(self.state_dict()))
        loss_a = (self.fc(x)**2).mean()
        loss_b = loss_a * 0 + 1
        if self.calls >= self.bad_iter:
            loss_b = loss_b * self.bad_value
        return dict(loss_a=loss_a, loss_b=loss_b)


def toy_runner(tmp_path, model, with_hook):
    from mmengine.runner import Runner
    data = [dict(x=torch.randn(4)) for _ in range(8)]
    return Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='InfiniteSampler'),
            batch_size=2,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=6),
        default_hooks=dict(checkpoint=dict(
            type='hrseg_plugin.AtomicCheckpointHook', by_epoch=False,
            interval=1)),
        custom_hooks=[dict(type='hrseg_plugin.NonFiniteLossHook')]
        if with_hook else None,
        default_scope='mmengine')


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_loss_stops_at_its_iteration(tmp_path, value):
    model = ToyLossModel(bad_iter=3, bad_value=value)
    runner = toy_runner(tmp_path, model, with_hook=True)
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    msg = str(err.value)
    assert 'non-finite loss at iteration 3 ' in msg, msg
    assert f'loss_b={value}' in msg and 'loss_a' not in msg, msg
    assert model.calls == 3
    # no update with the garbage: the weights are those iteration 3 saw
    for k, v in model.state_dict().items():
        assert torch.equal(v, model.seen[-1][k]), k
    assert torch.isfinite(model.fc.weight).all()
    # the last checkpoint is that of iteration 2, and finite
    last = (tmp_path / 'last_checkpoint').read_text().strip()
    assert Path(last).name == 'iter_2.pth'


def test_without_the_hook_training_goes_on_with_garbage(tmp_path):
    """The counter-check: the stock runner trains on through the NaN."""
    model = ToyLossModel(bad_iter=3)
    toy_runner(tmp_path, model, with_hook=False).train()
    assert model.calls == 6
    assert not torch.isfinite(model.fc.weight).all()


def test_hook_is_in_the_demo_configs_and_train_py_reports_it(demo_data,
                                                             tmp_path):
    """Through the stock path: tools/train.py with the demo config whose OCR
    loss weight is NaN stops at iteration 1 with one error line naming the
    term, and writes no checkpoint."""
    root = str(demo_data / 'cityscapes')
    cmd = [
        sys.executable, 'tools/train.py', 'configs/demo/hrnet_ocr.py',
        '--work-dir', str(tmp_path), '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        # the runner builds the val loop at the start of training: a fresh
        # clone has no data/demo, so point val at the fixture too
        f'val_dataloader.dataset.data_root={root}',
        'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.pipeline.2.scale=(256,128)',
        'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
        'model.data_preprocessor.size=(64,64)', 'train_cfg.max_iters=3',
        'train_cfg.val_interval=1000', 'default_hooks.checkpoint.interval=1',
        'model.decode_head.1.loss_decode.loss_weight=nan'
    ]
    env = dict(os.environ)
    env.pop('LOCAL_RANK', None)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('train.py: error: training stopped: non-finite '
                           'loss at iteration 1 '), last
    assert 'decode_1.loss_ce=nan' in last and 'decode_0' not in last, last
    assert 'Traceback' not in proc.stderr
    assert not list(tmp_path.glob('iter_*.pth'))


def test_hook_stops_a_detector_on_a_non_finite_loss_term():
    """The hook wraps any mmengine model's parse_losses: an mmdet detector
    of the demo config stops on its first NaN term, named."""
    from types import SimpleNamespace

    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = Config.fromfile(
        str(REPO / 'configs' / 'demo' / 'faster_rcnn_hrnetv2p_w18.py'))
    model = MODELS.build(cfg.model)
    NonFiniteLossHook().before_train(
        SimpleNamespace(model=model, iter=6, epoch=0))
    finite = dict(loss_rpn_cls=torch.tensor(0.5), loss_bbox=torch.tensor(1.))
    loss, _ = model.parse_losses(finite)
    assert loss.item() == 1.5
    with pytest.raises(NonFiniteLossError,
                       match='non-finite loss at iteration 7 .*'
                       'loss_bbox=nan'):
        model.parse_losses(dict(finite, loss_bbox=torch.tensor(float('nan'))))


def test_all_ignore_crop_gives_finite_loss_and_gradients():
    for name in ('hrnet_ocr', 'bisenet_r18'):
        model = build_demo_model(name)
        model.train()
        model.data_preprocessor.size = (64, 64)  # no padding to the crop
        data = model.data_preprocessor(
            seg_batch(64, 64, label_value=255, n=2), True)
        losses = model(**data, mode='loss')
        loss, log_vars = model.parse_losses(losses)
        assert torch.isfinite(loss), (name, log_vars)
        loss.backward()
        for pname, p in model.named_parameters():
            if p.grad is not None:
                assert torch.isfinite(p.grad).all(), (name, pname)


def test_cpu_amp_keeps_demo_losses_finite():
    from hrseg_plugin.apis import register_cpu_amp_optim_wrapper
    wrapper_cls = register_cpu_amp_optim_wrapper()
    for name in ('hrnet_ocr', 'bisenet_r18'):
        model = build_demo_model(name)
        model.train()
        model.data_preprocessor.size = (64, 64)  # no padding to the crop
        wrapper = wrapper_cls(
            optimizer=torch.optim.AdamW(model.parameters(), lr=2e-3))
        for _ in range(2):
            log_vars = model.train_step(seg_batch(64, 64, n=2), wrapper)
            assert all(torch.isfinite(v) for v in log_vars.values()), (
                name, log_vars)
        for pname, p in model.named_parameters():
            assert torch.isfinite(p).all(), (name, pname)


# --------------------------------------------------------------------------
# input errors and odd sizes
# --------------------------------------------------------------------------
def small_bisenet(in_channels=3):
    return BiSeNet(
        backbone_cfg=dict(type='mmseg.ResNet', depth=18, base_channels=8,
                          stem_channels=8, out_indices=(0, 1, 2, 3),
                          in_channels=in_channels),
        in_channels=in_channels, spatial_variant='coincheung',
        spatial_channels=(8, 8, 8, 16),
        context_channels=16)


@pytest.mark.parametrize('build', [
    lambda c=3: HRNet(arch='w18_small_v1', in_channels=c),
    lambda c=3: small_bisenet(c),
], ids=['HRNet', 'BiSeNet'])
def test_bad_inputs_are_named(build):
    net = build().eval()
    name = type(net).__name__
    with pytest.raises(ValueError, match=rf'{name}: the input has 1 channels '
                       r'but the backbone was built with in_channels=3'):
        net(torch.zeros(1, 1, 64, 64))
    # issue 16: sizes below the total stride compute (as in stock mmseg);
    # only an empty image is refused
    with pytest.raises(ValueError, match=rf'{name}: the input is 0x64 '
                       r'\(HxW\): an empty image cannot be computed'):
        net(torch.zeros(1, 3, 0, 64))
    with pytest.raises(ValueError, match='expected a batch of images'):
        net(torch.zeros(3, 64, 64))
    with torch.no_grad():  # small sizes, and other widths
        for h, w in [(32, 32), (31, 64), (64, 16), (95, 27), (1, 1)]:
            assert all(torch.isfinite(o).all() for o in net(
                torch.rand(1, 3, h, w))), (h, w)
        four = build(4).eval()
        four(torch.rand(1, 4, 40, 33))


@pytest.mark.parametrize('name', SEG_DEMOS)
def test_every_demo_model_outputs_the_input_size(name):
    from hrseg_plugin.engine import check_model_channels
    model = build_demo_model(name).eval()
    check_model_channels(model)  # no false alarm on the shipped configs
    # below the total stride of 32 too, as stock mmseg (issue 16)
    for h, w in [(257, 511), (333, 500), (32, 45), (95, 27), (5, 40)]:
        data = model.data_preprocessor(
            dict(inputs=[torch.randint(0, 256, (3, h, w), dtype=torch.uint8)]),
            False)
        with torch.no_grad():
            out = model.predict(data['inputs'])[0]
        assert out.pred_sem_seg.data.shape == (1, h, w), (name, h, w)
        assert out.seg_logits.data.shape == (19, h, w), (name, h, w)
        assert torch.isfinite(out.seg_logits.data).all()


# --------------------------------------------------------------------------
# data errors
# --------------------------------------------------------------------------
def write_png(path, array):
    assert cv2.imwrite(str(path), array)
    return str(path)


def truncate(path):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:len(data) // 2])


def test_unreadable_image_is_named_or_skipped(tmp_path, caplog):
    img = write_png(tmp_path / 'a.png', np.full((40, 50, 3), 7, np.uint8))
    load = LoadImageFromFile()
    assert load(dict(img_path=img))['img'].shape == (40, 50, 3)
    truncate(img)
    with pytest.raises(ValueError, match=r'cannot read image .*a\.png: '):
        load(dict(img_path=img))
    with pytest.raises(ValueError, match=r'cannot read image .*b\.png: '
                       r'no such file'):
        load(dict(img_path=str(tmp_path / 'b.png')))
    skip = LoadImageFromFile(skip_unreadable=True)
    before = skipped_images()
    assert skip(dict(img_path=img)) is None
    assert skipped_images() == before + 1


@pytest.mark.parametrize('loader', ['transform', 'loader'])
def test_labels_out_of_range_are_named(tmp_path, loader):
    seg = np.zeros((30, 40), np.uint8)
    seg[3, 4] = 255  # the ignore index is allowed
    seg[5:7, 5:7] = 18
    ok = write_png(tmp_path / 'ok.png', seg)
    seg[10, 10] = 19
    seg[11, 11] = 40
    bad = write_png(tmp_path / 'bad.png', seg)
    if loader == 'transform':
        from mmseg.datasets.transforms import LoadAnnotations

        def run(path):
            r = LoadAnnotations()(dict(seg_map_path=path, seg_fields=[],
                                       reduce_zero_label=False))
            return CheckSegLabels(num_classes=19)(r)
    else:
        def run(path):
            return LoadSegAnnotations(num_classes=19)(
                dict(seg_map_path=path, seg_fields=[],
                     reduce_zero_label=False))
    assert run(ok)['gt_seg_map'].max() == 255
    with pytest.raises(ValueError) as err:
        run(bad)
    msg = str(err.value)
    assert 'bad.png' in msg and 'values 19, 40 outside [0, 19)' in msg, msg
    assert 'ignore index 255' in msg


def test_label_loader_passes_images_without_labels(tmp_path):
    """mmseg's inference_model drops LoadAnnotations from the test pipeline
    by its stock type name only: ours must let a label-less sample through
    (no seg_map_path key), and still name a sample whose label is None."""
    results = LoadSegAnnotations(num_classes=19)(
        dict(img_path='x.png', seg_fields=[], reduce_zero_label=False))
    assert 'gt_seg_map' not in results
    with pytest.raises(ValueError, match='cannot read label file None'):
        LoadSegAnnotations(num_classes=19)(
            dict(seg_map_path=None, seg_fields=[], reduce_zero_label=False))


def test_truncated_label_file_is_named(tmp_path):
    path = write_png(tmp_path / 'lab.png', np.zeros((30, 40), np.uint8))
    truncate(path)
    with pytest.raises(ValueError, match=r'cannot read label file .*lab\.png'):
        LoadSegAnnotations(num_classes=19)(
            dict(seg_map_path=path, seg_fields=[], reduce_zero_label=False))


def demo_dataset(demo_data, tmp_path, **load_kwargs):
    """The demo config's train set on a private copy of the demo data."""
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    root = tmp_path / 'cityscapes'
    shutil.copytree(demo_data / 'cityscapes', root)
    cfg = Config.fromfile(str(REPO / 'configs/demo/hrnet_ocr.py'))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = str(root)
    ds_cfg.pipeline[0].update(load_kwargs)
    return DATASETS.build(ds_cfg)


def test_demo_pipeline_names_the_corrupt_file(demo_data, tmp_path):
    ds = demo_dataset(demo_data, tmp_path)
    assert ds[0]['inputs'].shape[0] == 3  # the clean data loads
    img = ds.get_data_info(1)['img_path']
    truncate(img)
    with pytest.raises(ValueError, match=f'cannot read image {img}'):
        ds[1]
    seg_path = ds.get_data_info(2)['seg_map_path']
    seg = cv2.imread(seg_path, cv2.IMREAD_UNCHANGED)
    seg[0, 0] = 33
    write_png(seg_path, seg)
    with pytest.raises(ValueError, match=f'label file {seg_path} has values '
                       r'33 outside \[0, 19\)'):
        ds[2]


def test_demo_pipeline_skips_corrupt_images_when_asked(demo_data, tmp_path):
    ds = demo_dataset(demo_data, tmp_path, skip_unreadable=True)
    bad = ds.get_data_info(1)['img_path']
    truncate(bad)
    before = skipped_images()
    sample = ds[1]  # another image is drawn in its place
    assert sample['data_samples'].img_path != bad
    assert skipped_images() == before + 1


# --------------------------------------------------------------------------
# config errors at build time: heads vs backbone channels
# --------------------------------------------------------------------------
def build_with(name, options):
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(REPO / 'configs' / 'demo' / f'{name}.py'))
    cfg.merge_from_dict(options)
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('name,options,message', [
    ('hrnet_ocr', {'model.decode_head.1.in_channels': [16, 32, 64, 64]},
     'decode_head.1 (OCRHead): in_channels=176 (the sum of the configured '
     "list, as input_transform='resize_concat') but the backbone HRNet "
     'gives 240 at in_index=(0, 1, 2, 3) (its outputs have [16, 32, 64, '
     '128] channels)'),
    ('bisenet_r18', {'model.decode_head.in_channels': [64, 32]},
     'decode_head (FFMHead): in_channels=[64, 32] but the backbone BiSeNet '
     'gives [64, 64] at in_index=(0, 1)'),
    ('bisenet_r18', {'model.auxiliary_head.1.in_channels': 128},
     'auxiliary_head.1 (FCNHead): in_channels=128 but the backbone BiSeNet '
     'gives 64 at in_index=2'),
    ('hrnet_ocr', {'model.decode_head.0.in_index': (0, 1, 2, 4)},
     'decode_head.0 (FCNHead): in_index=(0, 1, 2, 4) refers to outputs [4], '
     'but the backbone HRNet has 4 outputs'),
])
def test_head_channels_checked_when_built(name, options, message):
    """The check runs as the model is built (issue 16: for every config and
    every path that builds one, not only with ModelCheckHook), and again on
    a built model (check_model_channels: what the hook and the tools call)."""
    from hrseg_plugin import apis as ru
    from hrseg_plugin.engine import check_model_channels
    from hrseg_plugin.errors import ModelConfigError
    with pytest.raises(ModelConfigError) as err:
        build_with(name, options)
    assert message in str(err.value), str(err.value)

    # the same config error made on a built model: the model-level check
    model = build_with(name, {})
    place, value = next(iter(options.items()))
    head = model
    for part in place.split('.')[1:-1]:
        head = head[int(part)] if part.isdigit() else getattr(head, part)
    if getattr(head, 'input_transform', None) == 'resize_concat' and \
            place.endswith('in_channels'):
        value = sum(value)  # what mmseg's BaseDecodeHead keeps
    setattr(head, place.split('.')[-1], value)
    with pytest.raises(ValueError) as err:
        check_model_channels(model)
    assert message in str(err.value), str(err.value)

    class FakeRunner:  # what tools/train.py and test.py call after building
        pass
    runner = FakeRunner()
    runner.model = model
    with pytest.raises(ru.ToolError, match='the model of the config is '
                       'inconsistent: '):
        ru.check_built_model(runner)


# --------------------------------------------------------------------------
# weight loading: init_cfg=dict(type='hrseg_plugin.CheckedPretrained')
# --------------------------------------------------------------------------
def small_hrnet(**kwargs):
    torch.manual_seed(len(kwargs))
    return HRNet(arch='w18_small_v1', **kwargs)


def test_checked_pretrained_loads_the_right_model(tmp_path, caplog):
    src = small_hrnet()
    sd = dict(src.state_dict())
    sd['classifier.weight'] = torch.zeros(3, 3)  # extra keys are fine
    path = str(tmp_path / 'hrnet.pth')
    torch.save(dict(state_dict=sd), path)
    dst = small_hrnet(init_cfg=dict(type='hrseg_plugin.CheckedPretrained',
                                    checkpoint=path))
    dst.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k
    # with a prefix, from a whole segmentor's checkpoint
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in sd.items()}),
               path)
    dst = small_hrnet(init_cfg=dict(type='hrseg_plugin.CheckedPretrained',
                                    checkpoint=path, prefix='backbone.'))
    dst.init_weights()
    assert torch.equal(dst.conv1.weight, src.conv1.weight)


def test_checked_pretrained_refuses_another_model(tmp_path):
    wide = HRNet(arch='w18')  # another width: same keys, other shapes
    path = str(tmp_path / 'w18.pth')
    torch.save(dict(state_dict=wide.state_dict()), path)

    # the stock initializer half-loads it without an error ...
    stock = small_hrnet(init_cfg=dict(type='Pretrained', checkpoint=path))
    stock.init_weights()
    # ... ours refuses, naming the keys
    ours = small_hrnet(init_cfg=dict(type='hrseg_plugin.CheckedPretrained',
                                     checkpoint=path))
    with pytest.raises(ValueError) as err:
        ours.init_weights()
    msg = str(err.value)
    assert f'HRNet: refusing to load {path}' in msg
    assert 'shape-mismatched keys' in msg
    assert 'layer1.0.conv1.weight: got (64, 64, 1, 1), expected ' \
        '(32, 64, 1, 1)' in msg, msg

    other = small_bisenet()  # another network: keys missing
    torch.save(other.state_dict(), path)
    ours = small_hrnet(init_cfg=dict(type='hrseg_plugin.CheckedPretrained',
                                     checkpoint=path))
    with pytest.raises(ValueError) as err:
        ours.init_weights()
    msg = str(err.value)
    assert 'missing keys' in msg and 'conv1.weight' in msg
    assert 'unexpected keys' in msg and 'spatial_path.' in msg


def _nan_on_rank_one(rank, world, init_file, out_dir):
    import torch.distributed as torch_dist
    torch_dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank,
        world_size=world)
    from types import SimpleNamespace
    model = ToyLossModel(bad_iter=1 if rank == 1 else 10**6)
    runner = SimpleNamespace(model=model, iter=4, epoch=0)
    NonFiniteLossHook().before_train(runner)
    value = float('nan') if rank == 1 else 1.0
    try:
        model.parse_losses(dict(loss_a=torch.tensor(value)))
        outcome = 'no error'
    except NonFiniteLossError as err:
        outcome = str(err)
    (Path(out_dir) / f'rank{rank}.txt').write_text(outcome)
    torch_dist.destroy_process_group()


def test_non_finite_loss_on_one_rank_stops_every_rank(tmp_path):
    """A NaN on rank 1 only: both ranks raise at that iteration (rank 0
    alone going on would wait in the next gradient all-reduce forever),
    and the message names the rank."""
    import torch.multiprocessing as mp
    mp.start_processes(
        _nan_on_rank_one, args=(2, str(tmp_path / 'init'), str(tmp_path)),
        nprocs=2, join=True, start_method='spawn')
    for rank in (0, 1):
        msg = (tmp_path / f'rank{rank}.txt').read_text()
        assert 'non-finite loss at iteration 5 ' in msg, msg
        assert 'on rank(s) [1], every rank stops here' in msg, msg
    assert 'loss_a=nan' in (tmp_path / 'rank1.txt').read_text()
    assert "this rank's loss is finite" in (tmp_path /
                                             'rank0.txt').read_text()


class _Score:
    """A metric giving the scores of ``values`` in turn (mmengine's
    evaluator interface)."""

    def __init__(self, values):
        self.values = list(values)
        self.dataset_meta = None

    def process(self, data_batch, data_samples):
        pass

    def evaluate(self, size):
        return dict(score=self.values.pop(0))


class _ToyPredictModel(ToyLossModel):

    def forward(self, x, mode='loss'):
        if mode == 'loss':
            return super().forward(x, mode)
        return [None] * len(x)  # predictions: the metric ignores them


def test_save_best_is_atomic(tmp_path):
    """save_best writes the new best atomically and removes the previous
    one only after: a failure (a kill) during the write keeps the old best
    readable, where the stock hook deletes it first."""
    from mmengine.evaluator import Evaluator
    from mmengine.runner import Runner
    data = [dict(x=torch.randn(4)) for _ in range(8)]
    loader = dict(dataset=data, sampler=dict(type='DefaultSampler',
                                             shuffle=False),
                  batch_size=2, collate_fn=dict(type='default_collate'))
    runner = Runner(
        model=_ToyPredictModel(bad_iter=10**6), work_dir=str(tmp_path),
        train_dataloader=dict(loader, sampler=dict(type='InfiniteSampler')),
        val_dataloader=loader, val_cfg=dict(),
        val_evaluator=Evaluator([_Score([0.1, 0.5, 0.3])]),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=6, val_interval=2),
        default_hooks=dict(checkpoint=dict(
            type='hrseg_plugin.AtomicCheckpointHook', by_epoch=False,
            interval=2, save_best='score', rule='greater')),
        default_scope='mmengine')
    runner.train()
    best = sorted(p.name for p in tmp_path.glob('best_*.pth'))
    assert best == ['best_score_iter_4.pth']  # 0.5 at iteration 4
    hook = next(h for h in runner.hooks
                if type(h).__name__ == 'AtomicCheckpointHook')

    def killed(*args, **kwargs):
        raise KeyboardInterrupt('killed during the write')

    runner.save_checkpoint = killed  # the hook's writer calls this one
    with pytest.raises(KeyboardInterrupt):
        hook._save_best_checkpoint(runner, dict(score=0.9))
    assert sorted(p.name for p in tmp_path.glob('best_*')) == best
    assert not list(tmp_path.glob('.*tmp*'))
    torch.load(tmp_path / best[0], map_location='cpu', weights_only=False)


def test_skipped_images_total_over_dataloader_workers(demo_data, tmp_path,
                                                      monkeypatch):
    """The skips happen in the data-loader workers; the main process (and
    SkippedImagesHook) still sees their total."""
    from mmengine.dataset import pseudo_collate

    from hrseg_plugin.engine import SkippedImagesHook
    ds = demo_dataset(demo_data, tmp_path, skip_unreadable=True)
    truncate(ds.get_data_info(1)['img_path'])
    before = skipped_images()
    loader = torch.utils.data.DataLoader(
        ds, batch_size=2, num_workers=2, collate_fn=pseudo_collate,
        multiprocessing_context='fork')
    assert sum(len(b['inputs']) for b in loader) == len(ds)
    skipped = skipped_images() - before
    assert skipped >= 1  # once per draw of the bad index, all workers
    logged = []
    monkeypatch.setattr('hrseg_plugin.engine.skipped_images.print_log',
                        lambda msg, **kw: logged.append(msg))
    SkippedImagesHook().after_train(None)
    assert logged and f'{skipped_images()} unreadable image(s) skipped in ' \
        'total' in logged[0]


@pytest.mark.parametrize('config', ['hrnet_w18_ocr.py', 'bisenet_r18.py'])
def test_cityscapes_configs_use_the_checked_loaders(demo_data, tmp_path,
                                                    config):
    """The real Cityscapes configs (not only the demo ones) load through
    hrseg_plugin's loaders: a label file with labelIds instead of
    labelTrainIds fails naming the file and the values."""
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    root = tmp_path / 'cityscapes'
    shutil.copytree(demo_data / 'cityscapes', root)
    cfg = Config.fromfile(str(REPO / 'configs' / config))
    # the test pipeline names mmcv's loader (MMSegInferencer looks for it);
    # tools/test.py swaps the checked one in
    from hrseg_plugin.apis import use_checked_image_loader
    assert use_checked_image_loader(cfg)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pipeline = cfg[loader].dataset.pipeline
        assert [t['type'] for t in pipeline
                if t['type'].startswith('hrseg_plugin.')] == [
                    'hrseg_plugin.LoadImageFromFile',
                    'hrseg_plugin.LoadSegAnnotations']
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = str(root)
    ds = DATASETS.build(ds_cfg)
    assert ds[0]['inputs'].shape[0] == 3
    seg_path = ds.get_data_info(1)['seg_map_path']
    seg = cv2.imread(seg_path, cv2.IMREAD_UNCHANGED)
    seg[0, 0] = 26  # a labelId, not a train id
    write_png(seg_path, seg)
    with pytest.raises(ValueError, match=f'label file {seg_path} has values '
                       r'26 outside \[0, 19\)'):
        ds[1]


# --------------------------------------------------------------------------
# the configs' pretrained init (that every config uses CheckedPretrained and
# the checked loaders: tests/test_configs.py)
# --------------------------------------------------------------------------
def plain_hrnet_checkpoint(path, arch='w18'):
    """A checkpoint shaped like the model zoo's ImageNet HRNetV2: the
    backbone's keys plus classification-head keys the segmentor has not."""
    sd = dict(HRNet(arch=arch).state_dict())
    sd['incre_modules.0.0.conv1.weight'] = torch.zeros(32, 18, 1, 1)
    sd['classifier.weight'] = torch.zeros(1000, 2048)
    torch.save(dict(state_dict=sd), path)
    return sd


def plain_resnet_v1c_checkpoint(path, depth=50):
    from mmseg.models.backbones import ResNetV1c
    sd = dict(ResNetV1c(depth=depth).state_dict())
    sd['fc.weight'] = torch.zeros(1000, 2048)
    torch.save(sd, path)
    return sd


@pytest.mark.parametrize('config, make_checkpoint, wrong_checkpoint', [
    ('hrnet_w18_ocr.py', plain_hrnet_checkpoint,
     functools.partial(plain_hrnet_checkpoint, arch='w32')),
    # the SK convs' keys may be missing from a plain HRNet's checkpoint,
    # nothing else may
    ('hrnet_w18_skconv_ocr.py', plain_hrnet_checkpoint,
     functools.partial(plain_hrnet_checkpoint, arch='w18_small_v1')),
    ('faster_rcnn_hrnetv2p_w18.py', plain_hrnet_checkpoint,
     functools.partial(plain_hrnet_checkpoint, arch='w40')),
    # the SPM plugins' keys may be missing from ResNetV1c's checkpoint
    ('spnet_r50.py', plain_resnet_v1c_checkpoint,
     functools.partial(plain_resnet_v1c_checkpoint, depth=18)),
])
def test_configs_pretrained_init_loads_or_refuses(tmp_path, config,
                                                  make_checkpoint,
                                                  wrong_checkpoint):
    """The configs' ImageNet init, pointed at a local file of the right
    network, loads every key the file has; a file of another width or depth
    is refused by name instead of half-loading."""
    from mmengine.registry import MODELS
    cfg = Config.fromfile(str(REPO / 'configs' / config))
    init_default_scope(cfg.default_scope)
    good = str(tmp_path / 'imagenet.pth')
    sd = make_checkpoint(good)
    cfg.model.backbone.init_cfg.checkpoint = good
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    own = backbone.state_dict()
    may_miss = [re.compile(p) for p in
                cfg.model.backbone.init_cfg.get('allow_missing', [])]
    for key, value in own.items():
        if not any(p.search(key) for p in may_miss):
            assert torch.equal(value, sd[key]), key

    bad = str(tmp_path / 'other.pth')
    wrong_checkpoint(bad)
    cfg.model.backbone.init_cfg.checkpoint = bad
    backbone = MODELS.build(cfg.model.backbone)
    with pytest.raises(ValueError, match=f'refusing to load {bad}: it is '
                       'not a checkpoint of this model'):
        backbone.init_weights()


def make_ade20k(root, label_values):
    for split in ('training', 'validation'):
        (root / 'images' / split).mkdir(parents=True)
        (root / 'annotations' / split).mkdir(parents=True)
        for i, value in enumerate(label_values):
            write_png(root / 'images' / split / f'a{i}.jpg',
                      np.full((64, 96, 3), 100, np.uint8))
            write_png(root / 'annotations' / split / f'a{i}.png',
                      np.full((64, 96), value, np.uint8))


def make_pascal_context(root, label_values):
    for sub in ('JPEGImages', 'SegmentationClassContext',
                'ImageSets/SegmentationContext'):
        (root / sub).mkdir(parents=True)
    names = [f'2008_{i:06d}' for i in range(len(label_values))]
    for name, value in zip(names, label_values):
        write_png(root / 'JPEGImages' / f'{name}.jpg',
                  np.full((64, 96, 3), 100, np.uint8))
        write_png(root / 'SegmentationClassContext' / f'{name}.png',
                  np.full((64, 96), value, np.uint8))
    for split in ('train', 'val'):
        (root / 'ImageSets/SegmentationContext' / f'{split}.txt').write_text(
            '\n'.join(names) + '\n')


@pytest.mark.parametrize('config, make_data, num_classes', [
    ('hrnet_w48_ocr_ade20k.py', make_ade20k, 150),
    ('hrnet_w48_ocr_pascal_context.py', make_pascal_context, 59),
])
def test_ade20k_and_pascal_context_labels_checked(tmp_path, config,
                                                  make_data, num_classes):
    """The last class value (num_classes after reduce_zero_label's shift)
    loads; one more (a label file of a bigger label set) fails naming the
    file."""
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    root = tmp_path / 'data'
    make_data(root, [num_classes, num_classes + 1])
    cfg = Config.fromfile(str(REPO / 'configs' / config))
    for loader in ('train_dataloader', 'val_dataloader'):
        ds_cfg = cfg[loader].dataset
        ds_cfg.data_root = str(root)
        ds = DATASETS.build(ds_cfg)
        assert set(ds[0]['data_samples'].gt_sem_seg.data.unique().tolist()) \
            == {num_classes - 1}
        seg_path = ds.get_data_info(1)['seg_map_path']
        with pytest.raises(ValueError,
                           match=f'label file {seg_path} has values '
                           rf'{num_classes} outside \[0, {num_classes}\)'):
            ds[1]

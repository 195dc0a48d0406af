"""Issue 16: the silent wrong results are errors (or loud warnings where
going on is right), through the tools a user runs.

1. a checkpoint of another model: refused by test.py and by ``load_from``
   in training (a fine-tuning checkpoint whose heads differ is loaded, with
   a warning naming those keys);
2. heads' ``num_classes`` other than the data set's classes: refused;
3. a label map of another size than its image: named by train.py;
4. a truncated JPEG: named by train.py (also from a data-loader worker)
   and infer.py, skipped with ``--skip-bad``;
5. two trainings in one work dir: the second is refused, naming the first
   one's PID and host; the lock of a dead run is taken over;
6. ``--resume`` after a NaN: the config's lower learning rate wins over the
   checkpoint's, and the NaN stop names the last checkpoint with finite
   weights (and says when its weights are already exploding);
7. temporary files of a checkpoint write that was killed are removed on
   the next start.

Plus the build-time channel check of a user's config (issue 16, "a
ModelCheckHook-class check for every config"), through train.py and the
stock ``init_model``.
"""
import json
import re
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import copy_work_dir, error_line
from e2e import read_scalars, run_tool

cv2 = pytest.importorskip('cv2')

REPO = Path(__file__).resolve().parents[1]
CHECKED_LOADERS = (
    'train_dataloader.dataset.pipeline.0.type=hrseg_plugin.LoadImageFromFile',
    'train_dataloader.dataset.pipeline.1.type='
    'hrseg_plugin.LoadSegAnnotations')


def data_copy(tiny, tmp_path):
    """A private copy of the tiny data set."""
    import shutil
    data = tmp_path / 'cityscapes'
    shutil.copytree(Path(tiny).parent / 'cityscapes', data)
    return data


# --------------------------------------------------------------------------
# 1. checkpoints of another model
# --------------------------------------------------------------------------
def tiny_model_checkpoint(tiny, path, **options):
    """A checkpoint of the tiny config's model changed by ``options``
    (random weights), as tools/train.py would write it."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(tiny))
    cfg.merge_from_dict(options)
    cfg.model.backbone.norm_cfg = cfg.model.decode_head.norm_cfg = dict(
        type='BN', requires_grad=True)
    model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('road',
                                                         'sidewalk')))),
               path)
    return path


@pytest.mark.slow
def test_test_py_refuses_a_checkpoint_of_another_model(tiny, tmp_path):
    other = tiny_model_checkpoint(tiny, tmp_path / 'wide.pth',
                                  **{'model.backbone.base_channels': 16})
    proc = run_tool('test', tiny, other, '--work-dir', tmp_path / 'w',
                    expect_rc=2)
    assert "test.py: error: " \
        f"{other} does not fit the config's model:" in proc.stderr
    assert 'shape-mismatched keys' in proc.stderr
    assert 'backbone.layer1.0.conv1.weight: got (16, ' in proc.stderr
    assert 'Test metrics' not in proc.stdout and 'Traceback' not in proc.stderr


@pytest.mark.slow  # a training run (or the `trained` fixture)
def test_load_from_another_model_is_refused_a_finetuning_one_warned(
        tiny, tmp_path):
    other = tiny_model_checkpoint(tiny, tmp_path / 'wide.pth',
                                  **{'model.backbone.base_channels': 16})
    proc = run_tool('train', tiny, '--work-dir', tmp_path / 'a',
                    '--cfg-options', f'load_from={other}', expect_rc=2)
    assert f"train.py: error: {other} does not fit the config's model:" \
        in proc.stderr
    assert not list((tmp_path / 'a').glob('iter_*.pth'))

    # the same network with another number of classes: fine-tuning
    finetune = tiny_model_checkpoint(
        tiny, tmp_path / 'five.pth', **{'model.decode_head.num_classes': 5})
    proc = run_tool('train', tiny, '--work-dir', tmp_path / 'b',
                    '--cfg-options', f'load_from={finetune}',
                    'train_cfg.max_iters=1')
    log = proc.stdout + proc.stderr
    assert f'load_from={finetune}: keys of the heads that keep their ' \
        'initialisation:' in log
    assert 'decode_head.conv_seg.weight: got (5, 32, 1, 1), expected ' \
        '(2, 32, 1, 1)' in log
    assert (tmp_path / 'b' / 'iter_1.pth').is_file()


# --------------------------------------------------------------------------
# 2. num_classes
# --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize('num_classes', [3, 1])
def test_num_classes_other_than_the_data_sets_is_refused(tiny, tmp_path,
                                                          num_classes):
    proc = run_tool('train', tiny, '--work-dir', tmp_path, '--cfg-options',
                    f'model.decode_head.num_classes={num_classes}',
                    expect_rc=None)
    line = error_line(proc, 'train')
    assert 'the model of the config is inconsistent: model.decode_head ' \
        f'(FCNHead): num_classes={num_classes} but the data set of ' \
        'train_dataloader has 2 classes (road, sidewalk); set ' \
        'num_classes=2 in every head' in line, line


def test_model_check_hook_compares_num_classes_on_stock_paths():
    """ModelCheckHook (in the configs' custom_hooks) does the same for
    stock tools, against the data sets of the loops the runner built."""
    from types import SimpleNamespace

    from hrseg_plugin.engine import ModelCheckHook
    from hrseg_plugin.errors import ModelConfigError
    model = torch.nn.Module()
    model.decode_head = torch.nn.Module()
    model.decode_head.num_classes = 21
    loop = SimpleNamespace(dataloader=SimpleNamespace(
        dataset=SimpleNamespace(metainfo=dict(classes=('a', 'b')))))
    runner = SimpleNamespace(model=model, _train_loop=loop)
    with pytest.raises(ModelConfigError, match=r'model.decode_head '
                       r'\(Module\): num_classes=21 but the data set of '
                       r'train_dataloader has 2 classes \(a, b\)'):
        ModelCheckHook().before_run(runner)
    model.decode_head.num_classes = 2
    ModelCheckHook().before_run(runner)


# --------------------------------------------------------------------------
# 3. and 4. label maps of another size, truncated JPEGs
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_label_map_of_another_size_is_named_by_train(tiny, tmp_path):
    data = data_copy(tiny, tmp_path)
    label = next((data / 'gtFine' / 'train').rglob('*.png'))
    cv2.imwrite(str(label), np.zeros((32, 64), np.uint8))
    image = str(label).replace('gtFine_labelTrainIds', 'leftImg8bit') \
        .replace('/gtFine/', '/leftImg8bit/')
    proc = run_tool('train', tiny, '--work-dir', tmp_path / 'w',
                    '--cfg-options',
                    f'train_dataloader.dataset.data_root={data}',
                    *CHECKED_LOADERS, 'train_dataloader.batch_size=4',
                    expect_rc=None)
    line = error_line(proc, 'train')
    assert f'label file {label} is 32x64 (HxW) but its image {image} is ' \
        '64x128: image and label must have the same size' in line, line


def truncate_as_jpeg(path):
    """Replace the image by the first half of its JPEG encoding, under the
    same (.png) name: OpenCV decodes by content, and a grey band fills the
    missing rows."""
    ok, data = cv2.imencode('.jpg', cv2.imread(str(path)))
    assert ok
    Path(path).write_bytes(data.tobytes()[:len(data) // 2])


@pytest.mark.slow  # a training run (or the `trained` fixture)
def test_truncated_jpeg_is_named_by_train_and_infer(tiny, trained,
                                                    tmp_path):
    data = data_copy(tiny, tmp_path)
    bad = sorted((data / 'leftImg8bit' / 'train').rglob('*.png'))[0]
    truncate_as_jpeg(bad)
    assert cv2.imread(str(bad)).shape == (64, 128, 3)  # stock: no error
    # in a data-loader worker: torch re-raises the error in the main
    # process with the worker's traceback; one line all the same
    proc = run_tool('train', tiny, '--work-dir', tmp_path / 'w',
                    '--cfg-options',
                    f'train_dataloader.dataset.data_root={data}',
                    *CHECKED_LOADERS, 'train_dataloader.batch_size=4',
                    'train_dataloader.num_workers=1', expect_rc=None)
    line = error_line(proc, 'train')
    assert f'cannot read image {bad}: truncated JPEG (image file is ' \
        'truncated' in line, line
    assert 'set skip_unreadable=True in the LoadImageFromFile step' in line

    good = sorted((data / 'leftImg8bit' / 'val').rglob('*.png'))[0]
    out = tmp_path / 'out'
    proc = run_tool('infer', tiny, trained / 'iter_4.pth', good, bad,
                    '--out', out, expect_rc=None)
    line = error_line(proc, 'infer')
    assert f'cannot read image {bad}: truncated JPEG' in line, line
    assert not out.exists()  # refused before the model was loaded
    proc = run_tool('infer', tiny, trained / 'iter_4.pth', good, bad,
                    '--out', out, '--skip-bad')
    assert f'skipped 1 unreadable image(s): {bad}' in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == [good.stem + '.png']


# --------------------------------------------------------------------------
# 5. - 7. one run per work dir, resume with a lower learning rate, stale
# temporary files, the NaN stop naming the last finite checkpoint
# --------------------------------------------------------------------------
HOLD_LOCK = '''
import sys, time
from hrseg_plugin.apis import lock_work_dir
lock = lock_work_dir(sys.argv[1])
print('locked', flush=True)
time.sleep(120)
'''


@pytest.mark.slow
def test_second_training_in_a_work_dir_is_refused(tiny, tmp_path):
    work_dir = tmp_path / 'work'
    holder = subprocess.Popen([sys.executable, '-c', HOLD_LOCK,
                               str(work_dir)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        proc = run_tool('train', tiny, '--work-dir', work_dir,
                        expect_rc=None)
    finally:
        holder.kill()
        holder.wait()
    line = error_line(proc, 'train')
    assert f'{work_dir} is in use by another training (PID {holder.pid} ' \
        f'on host {socket.gethostname()}, started ' in line, line
    assert f'lock file {work_dir}/train.lock' in line
    assert 'give this run another --work-dir' in line
    assert not list(work_dir.glob('*.py'))  # no config dump overwritten


def dead_pid():
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


@pytest.mark.slow
def test_resume_takes_the_configs_lower_lr_and_a_dead_runs_lock(
        tiny, trained, tmp_path):
    """Resume the 4-iteration run with lr lowered from 0.05 to 0.005 (and
    a PolyLR schedule): the resumed iterations run at the config's scale.
    Before it: the lock file of a run that died on this host, and the
    temporary files of a checkpoint write it was killed in."""
    work_dir = copy_work_dir(trained, tmp_path)
    pid = dead_pid()
    (work_dir / 'train.lock').write_text(json.dumps(
        dict(pid=pid, host=socket.gethostname(), started=time.time())))
    stale = [work_dir / f'.iter_6.pth.tmp-{pid}',
             work_dir / f'.last_checkpoint.tmp-{pid}']
    live = work_dir / f'.iter_8.pth.tmp-{os.getpid()}'  # a running writer
    for path in stale + [live]:
        path.write_bytes(b'partial')
    proc = run_tool(
        'train', tiny, '--work-dir', work_dir, '--resume', '--cfg-options',
        'train_cfg.max_iters=6', 'optim_wrapper.optimizer.lr=0.005',
        'default_hooks.checkpoint.type=hrseg_plugin.AtomicCheckpointHook')
    log = proc.stdout + proc.stderr
    assert f'{work_dir}/train.lock: taking over the lock of a run that ' \
        f'ended without releasing it (PID {pid} on host' in log
    for path in stale:
        assert f'removed {path}: the temporary file of a checkpoint write ' \
            'that was interrupted' in log
        assert not path.exists()
    assert live.exists()
    assert not (work_dir / 'train.lock').exists()  # released at the end
    assert "resume: the config's learning rate 0.005 is not the " \
        "checkpoint's 0.05: training goes on with the config's" in log
    first, resumed = read_scalars(work_dir)[:2]
    assert [r['lr'] for r in first] == [0.05] * 4
    assert [r['step'] for r in resumed] == [5, 6]
    assert [r['lr'] for r in resumed] == pytest.approx([0.005] * 2)


EXPLODING = '''
_base_ = ['./tiny_seg.py']
custom_imports = dict(imports=['hrseg_plugin'], allow_failed_imports=False)
# the learning rate jumps a million-fold after iteration 2: the weights of
# iteration 3 are huge, those of iteration 4 infinite, the loss of 5 NaN
param_scheduler = [
    dict(type='MultiStepLR', milestones=[2], gamma=1e12, by_epoch=False)
]
custom_hooks = [dict(type='hrseg_plugin.NonFiniteLossHook')]
'''


@pytest.mark.slow
def test_nan_stop_names_the_last_checkpoint_with_finite_weights(tiny,
                                                                tmp_path):
    config = Path(tiny).parent / 'exploding.py'
    config.write_text(EXPLODING)
    work_dir = tmp_path / 'work'
    proc = run_tool('train', config, '--work-dir', work_dir,
                    '--cfg-options', 'default_hooks.checkpoint.interval=1',
                    expect_rc=None)
    line = error_line(proc, 'train')
    assert 'training stopped: non-finite loss at iteration 5 ' in line, line
    assert f'The last checkpoint with finite weights is {work_dir}/' \
        'iter_3.pth (largest |weight| ' in line, line
    assert 'newer: iter_4.pth (NaN/Inf weights); its weights are already ' \
        f'exploding, an older one may be safer: {work_dir}/iter_2.pth' \
        in line, line
    iter3 = torch.load(work_dir / 'iter_3.pth', weights_only=False)
    largest = max(v.abs().max().item()
                  for v in iter3['state_dict'].values()
                  if v.is_floating_point())
    assert largest > 1e6 and f'(largest |weight| {largest:.3g})' in line


# --------------------------------------------------------------------------
# the heads' channels of a user's config, checked when the model is built
# --------------------------------------------------------------------------
FFM_MESSAGE = ('decode_head (FFMHead): in_channels=[64, 32] but the '
               'backbone BiSeNet gives [64, 64] at in_index=(0, 1) (its '
               'outputs have [64, 64, 64] channels); set '
               'model.decode_head.in_channels to match')


@pytest.mark.slow
def test_wrong_ffm_in_channels_fail_when_the_model_is_built(tiny, tmp_path):
    root = Path(tiny).parent / 'cityscapes'
    proc = run_tool(
        'train', REPO / 'configs/demo/bisenet_r18.py', '--work-dir',
        tmp_path, '--cfg-options', f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        'model.decode_head.in_channels=[64,32]', expect_rc=None)
    line = error_line(proc, 'train')
    assert f'the model of the config is inconsistent: {FFM_MESSAGE}' in line

    # the stock API (and so stock tools/train.py, MMSegInferencer ...):
    # the build fails with the same message, before any weight or data
    from mmengine.config import Config
    from mmseg.apis import init_model

    from hrseg_plugin.errors import ModelConfigError
    cfg = Config.fromfile(str(REPO / 'configs/demo/bisenet_r18.py'))
    cfg.model.decode_head.in_channels = [64, 32]
    with pytest.raises(ModelConfigError) as err:
        init_model(cfg, device='cpu')
    assert FFM_MESSAGE in str(err.value)


def test_behind_a_stock_backbone_our_head_names_its_channels_at_forward():
    """A stock backbone publishes no out_channels, so nothing can be
    checked at build time: our head checks its inputs at the first forward
    instead of failing in a conv."""
    from mmengine.config import Config
    from mmseg.apis import init_model

    from hrseg_plugin.errors import ModelConfigError
    cfg = Config.fromfile(str(REPO / 'configs/demo/bisenet_r18.py'))
    cfg.model.backbone = dict(
        type='ResNetV1c', depth=18, base_channels=16, stem_channels=16,
        out_indices=(1, 2), strides=(1, 2, 1, 1), norm_cfg=dict(type='BN'))
    cfg.model.auxiliary_head = None
    cfg.model.decode_head.in_channels = [64, 64]
    model = init_model(cfg, device='cpu')  # builds: nothing to compare
    meta = [dict(img_shape=(64, 64))]
    with pytest.raises(ModelConfigError, match=re.escape(
            'FFMHead: in_channels=[64, 64] but its inputs (in_index=(0, 1)) '
            "have [32, 64] channels; set the head's in_channels")):
        model.encode_decode(torch.rand(1, 3, 64, 64), meta)
    cfg.model.decode_head.in_channels = [32, 64]
    model = init_model(cfg, device='cpu')
    assert model.encode_decode(torch.rand(1, 3, 64, 64), meta).shape == (
        1, 19, 64, 64)

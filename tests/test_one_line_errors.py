"""Issue 16: every kind of mistake that used to end in a raw traceback or a
misleading message is one ``<tool>: error: ...`` line naming the file or
field and the fix, exit status 2, through the tool a user runs.

The tools run as subprocesses (``tests/test_tools.py``'s ``run_tool``) on
the tiny Cityscapes-layout data and stock mmseg config of
``tests/test_tools.py`` (the ``tiny`` and ``trained`` fixtures of
``conftest.py``), or on the demo configs with random weights. The
silent wrong results of the issue: ``tests/test_silent_results.py``.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import copy_work_dir, error_line
from e2e import run_tool

cv2 = pytest.importorskip('cv2')

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------
# the config
# --------------------------------------------------------------------------
def test_config_syntax_error_names_the_file_and_line(tmp_path):
    base = tmp_path / 'base.py'
    base.write_text("default_scope = 'mmseg'\nmodel = dict(type='X'\n")
    proc = run_tool('train', base, expect_rc=None)
    line = error_line(proc, 'train')
    assert f'config file {base} has a syntax error at line 2' in line, line
    assert "'(' was never closed" in line and 'fix that line' in line

    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['./base.py']\n")
    line = error_line(run_tool('train', child, expect_rc=None), 'train')
    assert f'config file {child}: its _base_ file {base} has a syntax ' \
        'error at line 2' in line, line


@pytest.mark.parametrize('option, message', [
    ('train_cfg.max_iter=5', "--cfg-options train_cfg.max_iter=5: train_cfg "
     "has no key 'max_iter'; did you mean 'max_iters'? Fix the spelling"),
    ('train_cfg.max_iters=abc', "--cfg-options train_cfg.max_iters='abc': "
     'the config has a number (8) there; give a number'),
    ('train_dataloader.dataset.pipeline.7.scale=2',
     '--cfg-options train_dataloader.dataset.pipeline.7.scale=2: '
     'train_dataloader.dataset.pipeline is a list of 3 items, so '
     "'7' is not an index of it; use 0 to 2"),
])
def test_cfg_options_mistakes_are_named(tiny, tmp_path, option, message):
    proc = run_tool('train', tiny, '--work-dir', tmp_path, '--cfg-options',
                    option, expect_rc=None)
    assert message in error_line(proc, 'train')


def test_unknown_type_names_the_field_and_the_closest_names(tiny, tmp_path):
    proc = run_tool('train', tiny, '--work-dir', tmp_path, '--cfg-options',
                    'model.backbone.type=HRNett', expect_rc=None)
    line = error_line(proc, 'train')
    assert "model.backbone.type='HRNett' is not a registered model type; " \
        'the closest registered names are ' in line, line
    assert "'hrseg_plugin.HRNet'" in line and "'HRNet'" in line, line
    assert "named with the 'hrseg_plugin.' prefix" in line


def test_an_argument_the_module_does_not_take_is_named(tiny, tmp_path):
    proc = run_tool('train', tiny, '--work-dir', tmp_path, '--cfg-options',
                    'model.backbone.widht=3', expect_rc=None)
    line = error_line(proc, 'train')
    # ResNetV1c hands its keyword arguments to mmseg's ResNet
    assert 'model.backbone.widht: the config gives widht=... to ResNet, ' \
        "which takes no argument 'widht'" in line, line


# --------------------------------------------------------------------------
# checkpoints: not a checkpoint, truncated, deleted
# --------------------------------------------------------------------------
NOT_A_CHECKPOINT = ('truncated, or not a PyTorch checkpoint (torch.save '
                    'writes a zip archive, and this file is none)')


@pytest.mark.slow  # a training run (or the `trained` fixture)
def test_non_checkpoint_files_are_named_by_test_and_infer(tiny, trained,
                                                          tmp_path):
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    proc = run_tool('test', tiny, text, '--work-dir', tmp_path / 'w',
                    expect_rc=None)
    assert f'cannot load {text}: {NOT_A_CHECKPOINT}' in error_line(
        proc, 'test')

    cut = tmp_path / 'cut.pth'
    data = (trained / 'iter_4.pth').read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    img = next((Path(tiny).parent / 'cityscapes/leftImg8bit/val').rglob(
        '*.png'))
    proc = run_tool('infer', tiny, cut, img, '--out', tmp_path / 'o',
                    expect_rc=None)
    assert f'cannot load {cut}: {NOT_A_CHECKPOINT}' in error_line(
        proc, 'infer')


@pytest.mark.slow  # a training run (or the `trained` fixture)
def test_resume_from_a_truncated_checkpoint_names_the_last_intact_one(
        tiny, trained, tmp_path):
    work_dir = copy_work_dir(trained, tmp_path)
    latest = work_dir / 'iter_4.pth'
    latest.write_bytes(latest.read_bytes()[:5000])
    for resume in (['--resume'], ['--resume', latest]):
        proc = run_tool('train', tiny, '--work-dir', work_dir, *resume,
                        '--cfg-options', 'train_cfg.max_iters=6',
                        expect_rc=None)
        line = error_line(proc, 'train')
        assert f'cannot load {latest}: {NOT_A_CHECKPOINT}; the last intact ' \
            f'checkpoint of {work_dir} is {work_dir / "iter_2.pth"}: resume ' \
            f'from it with --resume {work_dir / "iter_2.pth"}' in line, line


@pytest.mark.slow  # a training run (or the `trained` fixture)
def test_last_checkpoint_naming_a_deleted_file(tiny, trained, tmp_path):
    work_dir = copy_work_dir(trained, tmp_path)
    (work_dir / 'iter_4.pth').unlink()
    proc = run_tool('train', tiny, '--work-dir', work_dir, '--resume',
                    '--cfg-options', 'train_cfg.max_iters=6', expect_rc=None)
    line = error_line(proc, 'train')
    assert f'--resume: {work_dir}/last_checkpoint names ' \
        f'{work_dir}/iter_4.pth, which does not exist (deleted or moved?); ' \
        f'the last intact checkpoint of {work_dir} is ' \
        f'{work_dir}/iter_2.pth' in line, line


# --------------------------------------------------------------------------
# data and work dir
# --------------------------------------------------------------------------
def test_empty_train_folder_is_named(tiny, tmp_path):
    data = tmp_path / 'cityscapes'
    shutil.copytree(Path(tiny).parent / 'cityscapes', data)
    train = data / 'leftImg8bit' / 'train'
    for png in train.rglob('*.png'):
        png.unlink()
    proc = run_tool('train', tiny, '--work-dir', tmp_path / 'w',
                    '--cfg-options',
                    f'train_dataloader.dataset.data_root={data}',
                    expect_rc=None)
    line = error_line(proc, 'train')
    assert f'train_dataloader: {train} has no images: no file in it (or ' \
        "its sub-folders) ends in '_leftImg8bit.png', the img_suffix of " \
        'CityscapesDataset' in line, line


def test_unwritable_work_dir_is_named_before_the_run(tiny):
    work_dir = '/proc/hrseg_plugin_work'
    proc = run_tool('train', tiny, '--work-dir', work_dir, expect_rc=None)
    line = error_line(proc, 'train')
    assert f'cannot write to the work dir {work_dir}: No such file or ' \
        'directory; choose a writable folder with --work-dir' in line, line


def _limited_file_size(limit):
    def preexec():
        import resource
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


@pytest.mark.slow
def test_full_disk_during_a_checkpoint_write(tiny, trained, tmp_path):
    """A checkpoint write that fails (here a file size limit makes every
    write beyond 200 kB fail as a full disk would) is one line naming the
    checkpoint, the free space and the last complete checkpoint, and leaves
    no temporary file."""
    work_dir = tmp_path / 'work'
    env = dict(os.environ)
    env.pop('LOCAL_RANK', None)
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', str(tiny), '--work-dir',
         str(work_dir), '--cfg-options', 'train_cfg.max_iters=2',
         'default_hooks.checkpoint.interval=1',
         'default_hooks.checkpoint.type=hrseg_plugin.AtomicCheckpointHook'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
        preexec_fn=_limited_file_size(200_000))
    line = error_line(proc, 'train')
    assert f'cannot write the checkpoint {work_dir}/iter_1.pth: File too ' \
        f'large (free space on {work_dir}: ' in line, line
    assert 'free space there or choose another --work-dir; no complete ' \
        'checkpoint was written yet' in line, line
    assert not list(work_dir.glob('.*tmp*'))
    assert not list(work_dir.glob('iter_*.pth'))


# --------------------------------------------------------------------------
# images that cannot be computed; export / benchmark / convert arguments
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def random_ocr_checkpoint(tmp_path_factory):
    """configs/demo/hrnet_ocr.py with random weights, saved as a bare state
    dict (as a converted third-party checkpoint may be: no classes in it;
    the config's data set gives them)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    model = MODELS.build(
        Config.fromfile(str(REPO / 'configs/demo/hrnet_ocr.py')).model)
    path = tmp_path_factory.mktemp('ckpt') / 'ocr.pth'
    torch.save(model.state_dict(), path)
    return path


@pytest.mark.slow
def test_infer_computes_extreme_sizes_and_names_what_it_cannot(
        random_ocr_checkpoint, tmp_path):
    """A 20x1000 image (resized to 10x512, below HRNet's stride of 32)
    is predicted at its own size, as stock mmseg does; a 3000x2 image,
    which the test pipeline's Resize shrinks to 0 pixels wide, cannot be
    computed: it is named with its size, and --skip-bad skips it."""
    rng = np.random.default_rng(0)
    wide, thin = tmp_path / 'wide.png', tmp_path / 'thin.png'
    cv2.imwrite(str(wide), rng.integers(0, 255, (20, 1000, 3), np.uint8))
    cv2.imwrite(str(thin), rng.integers(0, 255, (3000, 2, 3), np.uint8))
    config = REPO / 'configs/demo/hrnet_ocr.py'
    out = tmp_path / 'out'
    proc = run_tool('infer', config, random_ocr_checkpoint, wide, thin,
                    '--out', out, expect_rc=None)
    line = error_line(proc, 'infer')
    assert f'cannot predict image {thin} (3000x2 HxW as read, before the ' \
        "test pipeline's Resize): the pipeline's Resize scales one side of " \
        'the image to 0 pixels' in line, line
    assert '--skip-bad skips such images' in line
    assert cv2.imread(str(out / 'wide.png')).shape == (20, 1000, 3)

    proc = run_tool('infer', config, random_ocr_checkpoint, wide, thin,
                    '--out', out, '--skip-bad')
    assert 'wrote 1 image(s)' in proc.stdout
    assert f'skipped 1 image(s) the model could not predict: {thin}' in \
        proc.stdout
    assert f'skipping: cannot predict image {thin}' in proc.stderr


@pytest.mark.slow
def test_a_batchnorm_fed_one_value_is_explained(tiny, tmp_path):
    """What cannot be computed in training: BiSeNet's global-context branch
    normalises one value per channel with a batch of one image (stock
    BiSeNetV1 fails the same way); one line says so and how to fix it."""
    root = Path(tiny).parent / 'cityscapes'
    proc = run_tool(
        'train', REPO / 'configs/demo/bisenet_r18.py', '--work-dir',
        tmp_path, '--cfg-options', f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.pipeline.2.scale=(128,64)',
        'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
        'model.data_preprocessor.size=(64,64)', expect_rc=None)
    line = error_line(proc, 'train')
    assert 'a BatchNorm layer got one value per channel in training' in line
    assert 'train with a batch of 2 or more images (batch_size in the ' \
        'config' in line, line


def test_export_out_unwritable_is_named_before_the_export(
        random_ocr_checkpoint):
    out = '/proc/hrseg_plugin/model.onnx'
    proc = run_tool('export_onnx', REPO / 'configs/demo/hrnet_ocr.py',
                    random_ocr_checkpoint, '--shape', '64', '64', '--out',
                    out, expect_rc=None)
    line = error_line(proc, 'export_onnx')
    assert f'--out {out}: cannot write there: No such file or directory; ' \
        'choose a writable place' in line, line
    assert 'wrote' not in proc.stdout  # refused before building anything


@pytest.mark.parametrize('tool', ['export_onnx', 'benchmark'])
def test_shape_flag_is_named(tool, random_ocr_checkpoint):
    args = [random_ocr_checkpoint] if tool == 'export_onnx' else []
    proc = run_tool(tool, REPO / 'configs/demo/hrnet_ocr.py', *args,
                    '--shape', '0', '64', expect_rc=2)
    assert f'{tool}.py: error: --shape H W: both sides must be at least 1 ' \
        'pixel, got 0 64' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_convert_weights_errors_in_the_tools_form(tmp_path):
    src = tmp_path / 'in.pth'
    src.write_text('not a checkpoint')
    out = tmp_path / 'out.pth'
    proc = run_tool('convert_weights', '--from', 'mmseg', src, out,
                    expect_rc=2)
    assert proc.stderr.startswith(f'convert_weights.py: error: cannot load '
                                  f'{src}: {NOT_A_CHECKPOINT}')
    assert f'nothing written to {out}' in proc.stderr
    assert 'Traceback' not in proc.stderr and not out.exists()

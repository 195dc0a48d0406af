"""``import hrseg_plugin`` lets torch's weights-only loading read mmengine
checkpoints (``hrseg_plugin.utils.safe_checkpoints``), and nothing more.

Each case runs in a fresh interpreter: torch's allow-list is process-wide,
so an in-process check would pass whatever this module does.
"""
import subprocess
import sys
import textwrap

import pytest

WRITE_MMENGINE_STATE = '''
import numpy as np, torch
from mmengine.logging import MessageHub
hub = MessageHub.get_instance('t')
for i in range(3):
    hub.update_scalar('train/loss', np.float32(0.5 / (i + 1)))
    hub.update_scalar('train/lr', 0.01)
hub.update_info('iter', np.int64(3))
torch.save({'message_hub': hub.state_dict(),
            'meta': {'seed': np.int64(0), 'acc': np.float64(0.5)},
            'state_dict': {'w': torch.ones(2)}}, PATH)
'''


def python(code, tmp_path):
    """Run ``code`` in a fresh interpreter; (returncode, stdout+stderr)."""
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def mmengine_file(tmp_path):
    path = tmp_path / 'state.pth'
    rc, out = python(f'PATH = {str(path)!r}\n' + WRITE_MMENGINE_STATE,
                     tmp_path)
    assert rc == 0, out
    return path


def test_stock_torch_refuses_mmengine_state(mmengine_file, tmp_path):
    """The failure users see without the allow-list (the reason for it)."""
    rc, out = python(f'''
        import torch
        torch.load({str(mmengine_file)!r})
        ''', tmp_path)
    assert rc != 0 and 'HistoryBuffer' in out


def test_import_allows_mmengine_state(mmengine_file, tmp_path):
    rc, out = python(f'''
        import torch, hrseg_plugin
        ck = torch.load({str(mmengine_file)!r})
        buf = ck['message_hub']['log_scalars']['train/loss']
        print('mean', round(float(buf.mean()), 4), ck['meta']['seed'])
        ''', tmp_path)
    assert rc == 0, out
    assert 'mean 0.3056 0' in out  # (0.5 + 0.25 + 0.1667) / 3


@pytest.mark.slow
def test_listed_globals_are_what_mmengine_writes(mmengine_file, tmp_path):
    """Every global in the file is on our list (and the list names only
    mmengine's HistoryBuffer, numpy and the restricted getattr)."""
    rc, out = python(f'''
        import torch
        from hrseg_plugin.utils.safe_checkpoints import \\
            allow_mmengine_checkpoints
        names = set(allow_mmengine_checkpoints())
        found = set(torch.serialization.get_unsafe_globals_in_checkpoint(
            {str(mmengine_file)!r}))
        print('missing', sorted(found - names))
        print('others', sorted(n for n in names if not n.startswith(
            ('numpy.', 'mmengine.logging.history_buffer.',
             'builtins.getattr'))))
        ''', tmp_path)
    assert rc == 0, out
    assert 'missing []' in out and 'others []' in out


@pytest.mark.parametrize('payload, refusal', [
    # a getattr other than HistoryBuffer's statistics methods
    ('(getattr, (HistoryBuffer, "__init__"))', 'getattr'),
    # any other callable
    ('(os.system, ("echo pwned",))', 'system'),
])
def test_other_objects_stay_refused(payload, refusal, tmp_path):
    rc, out = python(f'''
        import io, os, pickle, torch, hrseg_plugin
        from mmengine.logging.history_buffer import HistoryBuffer
        class Evil:
            def __reduce__(self):
                return {payload}
        buf = io.BytesIO()
        torch.save({{'x': Evil()}}, buf)
        buf.seek(0)
        try:
            torch.load(buf)
        except pickle.UnpicklingError as err:
            print('refused:', err)
        else:
            print('LOADED')
        ''', tmp_path)
    assert rc == 0, out
    assert 'refused:' in out and refusal in out and 'pwned' not in out
    assert 'LOADED' not in out


def test_object_arrays_stay_refused(tmp_path):
    rc, out = python('''
        import io, pickle, numpy as np, torch, hrseg_plugin
        buf = io.BytesIO()
        torch.save({'x': np.array([{'a': 1}], dtype=object)}, buf)
        buf.seek(0)
        try:
            torch.load(buf)
        except pickle.UnpicklingError as err:
            print('refused', 'ObjectDType' in str(err))
        ''', tmp_path)
    assert rc == 0, out
    assert 'refused True' in out

"""tools/conv_floor.py's measurements (hrseg_plugin.apis.conv_floor): each
way of running one conv is timed, oneDNN's verbose trace is parsed, and the
table names every case."""
import pytest
import torch

from hrseg_plugin.apis import conv_floor as cf

CASE = cf.ConvCase('tiny 3x3 8->8 @16x16', 1, 8, 16, 16, 8, 3)


def test_conv_case_counts_macs():
    assert CASE.gmacs * 1e9 == 16 * 16 * 8 * 8 * 9
    strided = cf.ConvCase('s', 1, 3, 64, 64, 4, 7, 2)
    assert strided.gmacs * 1e9 == 32 * 32 * 4 * 3 * 49


def test_measure_and_format_one_case():
    rows = cf.measure([CASE], repeat=1, onnx=True, trace=False)
    (row, ) = rows
    for key in ('torch_nchw', 'torch_nhwc', 'torch_bf16_nhwc', 'ort_float32',
                'ort_int8'):
        assert row[key] > 0, key
    text = cf.format_rows(rows, torch.get_num_threads())
    assert CASE.name in text and 'ORT int8' in text


@pytest.mark.slow
def test_onednn_trace_names_what_runs():
    """A child process runs the conv with ONEDNN_VERBOSE=1 (about 20 s:
    it imports the package): oneDNN's convolution primitive is found with
    its implementation and kernel time."""
    # a conv this small runs outside oneDNN (PyTorch's own kernel)
    trace = cf.onednn_trace(cf.ConvCase('c', 1, 64, 32, 64, 64, 3),
                            channels_last=True)
    assert set(trace) == {'implementation', 'algorithm', 'kernel_ms',
                          'reorder_ms', 'reorders'}
    assert trace['implementation'] != '?' and trace['kernel_ms'] > 0


def test_gemm_peak_is_in_the_table():
    """The matrix-product reference: a rate per precision, printed above
    the convs."""
    gemm = cf.gemm_peak(repeat=1, size=256)
    assert set(gemm) == {'float32', 'bfloat16'}
    assert all(rate > 0 for rate in gemm.values())
    text = cf.format_rows(cf.measure([CASE], repeat=1, onnx=False,
                                     trace=False), 1, gemm)
    assert f'float32 {gemm["float32"]:.1f}' in text
    assert text.index('GEMM peak') < text.index(CASE.name)

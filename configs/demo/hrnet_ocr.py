# HRNet-OCR sized for a CPU: the smallest published HRNet width
# (w18_small_v1) and a narrower OCR head, trained from scratch on the
# generated demo scenes (tools/make_demo_data.py) in a few minutes on 2 cores.
_base_ = [
    '../_base_/models/hrnet_ocr.py', '../_base_/datasets/demo_cityscapes.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/demo_300iters.py'
]
hrnet_channels = [16, 32, 64, 128]
crop_size = (256, 256)
# the base's two heads (FCN, then OCR) at these widths, OCR narrowed
fcn_head, ocr_head = _base_.model.decode_head
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(arch='w18_small_v1', init_cfg=None),
    decode_head=[
        dict(
            fcn_head,
            in_channels=hrnet_channels,
            channels=sum(hrnet_channels)),
        dict(
            ocr_head,
            in_channels=hrnet_channels,
            channels=128,
            ocr_channels=64),
    ])
del fcn_head, ocr_head

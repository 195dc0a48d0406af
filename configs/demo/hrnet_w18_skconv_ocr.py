# configs/demo/hrnet_ocr.py (HRNet-W18-small-v1 + OCR on the demo scenes)
# with selective kernel convolutions in place of the backbone's
# width-keeping 3x3 convs, as configs/hrnet_w18_skconv_ocr.py. Same data,
# schedule and seed as the demo it extends, so the two mIoUs compare.
_base_ = './hrnet_ocr.py'
model = dict(
    backbone=dict(conv_cfg=dict(type='hrseg_plugin.SKConv', groups=2)))

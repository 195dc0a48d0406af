# HRNetV2-W48 + OCR: the W18 model of ./hrnet_ocr.py at W48's widths, with
# the ImageNet-pretrained HRNetV2-W48 of the model zoo.
_base_ = './hrnet_ocr.py'
hrnet_channels = [48, 96, 192, 384]
# the base's two heads (FCN, then OCR) at W48's widths: mmengine replaces a
# list when a config inherits, so they are derived here, not written again
fcn_head, ocr_head = _base_.model.decode_head
model = dict(
    backbone=dict(
        arch='w48',
        init_cfg=dict(
            type='hrseg_plugin.CheckedPretrained',
            checkpoint='open-mmlab://msra/hrnetv2_w48')),
    decode_head=[
        dict(
            fcn_head,
            in_channels=hrnet_channels,
            channels=sum(hrnet_channels)),
        dict(ocr_head, in_channels=hrnet_channels),
    ])
del fcn_head, ocr_head

# HRNetV2-W48 + OCR on Cityscapes 512x1024, 80k iterations (4 GPUs x 2):
# the paper's headline model, recipe of stock mmseg's
# ocrnet_hr48_4xb2-80k_cityscapes-512x1024 (80.7-81.4 mIoU in its model zoo).
_base_ = './hrnet_w18_ocr.py'
stock_equivalent = 'mmseg::ocrnet/ocrnet_hr48_4xb2-80k_cityscapes-512x1024.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
hrnet_channels = [48, 96, 192, 384]
model = dict(
    backbone=dict(
        arch='w48',
        init_cfg=dict(
            type='hrseg_plugin.CheckedPretrained',
            checkpoint='open-mmlab://msra/hrnetv2_w48')),
    decode_head=[
        dict(
            # stock FCNHead with our training-step loss (same keys)
            type='hrseg_plugin.WithSpeedups',
            module='FCNHead',
            in_channels=hrnet_channels,
            channels=sum(hrnet_channels),
            in_index=(0, 1, 2, 3),
            input_transform='resize_concat',
            kernel_size=1,
            num_convs=1,
            concat_input=False,
            dropout_ratio=-1,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        dict(
            type='hrseg_plugin.OCRHead',
            in_channels=hrnet_channels,
            in_index=(0, 1, 2, 3),
            input_transform='resize_concat',
            channels=512,
            ocr_channels=256,
            dropout_ratio=-1,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ])

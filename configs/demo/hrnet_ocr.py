# HRNet-OCR sized for a CPU: the smallest published HRNet width
# (w18_small_v1) and a narrower OCR head, trained from scratch on the
# generated demo scenes (tools/make_demo_data.py) in a few minutes on 2 cores.
_base_ = [
    '../_base_/models/hrnet_ocr.py', '../_base_/datasets/demo_cityscapes.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/demo_300iters.py'
]
norm_cfg = dict(type='SyncBN', requires_grad=True)
hrnet_channels = [16, 32, 64, 128]
crop_size = (256, 256)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(arch='w18_small_v1', init_cfg=None),
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
            channels=128,
            ocr_channels=64,
            dropout_ratio=-1,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ])

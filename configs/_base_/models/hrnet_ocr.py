# HRNetV2 + OCR (cascade: an FCN head gives the coarse scores the OCR head
# gathers objects with), as the OCRNet paper and stock mmseg's ocrnet_hr18.
# Our modules carry the scope prefix `hrseg_plugin.`; stock ones keep their
# plain names and resolve in mmseg's scope.
custom_imports = dict(imports=['hrseg_plugin'], allow_failed_imports=False)
# SyncBN as stock; mmengine reverts it to BN in a single, non-distributed
# process (tests/test_configs.py checks it).
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
hrnet_channels = [18, 36, 72, 144]
model = dict(
    type='CascadeEncoderDecoder',
    data_preprocessor=data_preprocessor,
    num_stages=2,
    backbone=dict(
        type='hrseg_plugin.HRNet',
        arch='w18',
        norm_cfg=norm_cfg,
        norm_eval=False,
        # the heads are pure PyTorch: let them run in channels_last too
        out_channels_last=True,
        # the ImageNet-pretrained HRNetV2-W18 of the model zoo, loaded by
        # hrseg_plugin.CheckedPretrained: mmengine's Pretrained, but a
        # checkpoint of another width or network (missing or mis-shaped
        # keys) is refused by name instead of half-loaded; the classifier
        # keys (incre_modules, classifier ...) are logged and skipped
        init_cfg=dict(
            type='hrseg_plugin.CheckedPretrained',
            checkpoint='open-mmlab://msra/hrnetv2_w18')),
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
    ],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# HRNetV2-W48 + OCR with the upsampling of the official HRNet-OCR code
# (HRNet/HRNet-Semantic-Segmentation, branch HRNet-OCR): bilinear fuse and
# head resizing with align_corners=True. Use it with checkpoints converted by
#   tools/convert_weights.py --from hrnet-official IN.pth OUT.pth
# (mmengine replaces lists when a config inherits, so both heads are
# written out again.) For training as the official recipe (branch HRNet-OCR,
# commit 0bbb288: experiments/cityscapes/seg_hrnet_ocr_w48_*.yaml,
# lib/datasets/cityscapes.py, seg_hrnet_ocr.py): Dropout2d(0.05) before the
# OCR classifier and their Cityscapes class weights in both losses (mmseg
# averages the weighted loss over pixels, PyTorch's weighted mean over the
# weights: the same up to a factor near 1). Neither changes eval outputs.
official_class_weight = [
    0.8373, 0.918, 0.866, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786,
    1.0023, 0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529,
    1.0507
]
_base_ = './hrnet_ocr.py'
# stock mmseg has no align_corners=True HRNet: no twin to compare with
stock_equivalent = None
norm_cfg = dict(type='SyncBN', requires_grad=True)
hrnet_channels = [48, 96, 192, 384]
model = dict(
    backbone=dict(
        upsample_cfg=dict(mode='bilinear', align_corners=True)),
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
            align_corners=True,
            loss_decode=dict(
                type='CrossEntropyLoss',
                use_sigmoid=False,
                loss_weight=0.4,
                class_weight=official_class_weight)),
        dict(
            type='hrseg_plugin.OCRHead',
            in_channels=hrnet_channels,
            in_index=(0, 1, 2, 3),
            input_transform='resize_concat',
            channels=512,
            ocr_channels=256,
            dropout_ratio=0.05,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=True,
            loss_decode=dict(
                type='CrossEntropyLoss',
                use_sigmoid=False,
                loss_weight=1.0,
                class_weight=official_class_weight)),
    ])

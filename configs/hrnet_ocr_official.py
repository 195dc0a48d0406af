# HRNetV2-W48 + OCR with the upsampling of the official HRNet-OCR code
# (HRNet/HRNet-Semantic-Segmentation, branch HRNet-OCR): bilinear fuse and
# head resizing with align_corners=True. Use it with checkpoints converted by
#   tools/convert_weights.py --from hrnet-official IN.pth OUT.pth
# For training as the official recipe (branch HRNet-OCR,
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
fcn_head, ocr_head = _base_.model.decode_head
model = dict(
    backbone=dict(
        upsample_cfg=dict(mode='bilinear', align_corners=True)),
    # the base's two heads, resized with align_corners=True, the official
    # class weights in both losses and Dropout2d(0.05) before OCR's classifier
    decode_head=[
        dict(
            fcn_head,
            align_corners=True,
            loss_decode=dict(
                fcn_head.loss_decode, class_weight=official_class_weight)),
        dict(
            ocr_head,
            align_corners=True,
            dropout_ratio=0.05,
            loss_decode=dict(
                ocr_head.loss_decode, class_weight=official_class_weight)),
    ])
del fcn_head, ocr_head

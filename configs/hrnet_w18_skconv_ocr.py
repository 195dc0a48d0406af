# HRNetV2-W18 + OCR with selective kernel convolutions (Li et al., "Selective
# Kernel Networks", CVPR 2019) in place of the backbone's 3x3 convs.
#
# conv_cfg reaches every conv HRNet builds; SKConv turns the 3x3 convs that
# keep the width (the residual blocks' convs, the second stem conv and the
# intermediate stride-2 convs of the fuse layers) into SK convolutions and
# builds every other conv (1x1, width-changing 3x3) as the plain Conv2d it
# replaces. groups=2 with two branches keeps the FLOPs and parameters of
# each replaced conv (2 branches x 1/2 cost), and divides every HRNet-W18
# width (18, 36, 72, 144 and 64).
#
# The ImageNet HRNet-W18 checkpoint still initializes the stem, the norms,
# the transitions and the fuse layers; the SK convs have no pretrained
# weights and start from the Kaiming init: allow_missing lets
# CheckedPretrained leave exactly those keys (an SK conv's branches, fuse and
# select) untrained, and still refuse a checkpoint missing any other key.
_base_ = './hrnet_w18_ocr.py'
# stock mmseg has no SKConv: no twin for tools/benchmark.py --compare-stock
stock_equivalent = None
model = dict(
    backbone=dict(
        conv_cfg=dict(type='hrseg_plugin.SKConv', groups=2),
        init_cfg=dict(allow_missing=[
            r'\.(branches\.\d+\.(conv|bn)|fuse\.(conv|bn)|select)\.'
        ])))

# SPNet (strip pooling modules in the backbone, strip pooling head) sized for
# a CPU: a dilated ResNetV1c-50 (output stride 8) at a quarter of the width
# (base 16 channels), trained from scratch on the demo scenes with the data,
# schedule and seed of configs/demo/hrnet_ocr.py. Pool sizes scale with the
# 32x32 feature maps of the 256x256 crops (SPNet: (20, 12) on 64x128).
#
# Ablation with the same schedule (README):
#   --cfg-options model.backbone.plugins=None      (no SPM)
#   --cfg-options model.decode_head.num_mpms=0     (no MPM)
_base_ = [
    '../_base_/models/spnet_r50.py', '../_base_/datasets/demo_cityscapes.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/demo_300iters.py'
]
crop_size = (256, 256)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        stem_channels=32, base_channels=16, out_indices=(2, 3), init_cfg=None),
    decode_head=dict(
        in_channels=512,
        in_index=1,
        mpm_channels=128,
        pool_sizes=(10, 6),
        channels=64),
    auxiliary_head=dict(in_channels=256, in_index=0, channels=64))

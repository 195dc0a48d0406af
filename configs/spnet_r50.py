# SPNet (Hou et al., "Strip Pooling: Rethinking Spatial Pooling for Scene
# Parsing", CVPR 2020) on Cityscapes: a dilated ResNetV1c-50 (output stride
# 8) with strip pooling modules (SPM) inside the residual blocks and the
# strip pooling head (two mixed pooling modules, MPM); an FCN auxiliary head
# on stage 3 as SPNet's. 512x1024 crops, 80k iterations of batch 2 x 4 GPUs,
# the stock mmseg recipe of fcn_r50-d8.
#
# SPM placement: SPNet puts an SPM after the 3x3 conv of every block of
# stage 4 and of the last block of stages 1-3. mmcv plugins are inserted
# into all blocks of the selected stages, so this config uses stage 4 only
# (3 SPMs instead of SPNet's 6; the stage-4 ones hold ~90% of SPNet's SPM
# parameters). The ImageNet ResNetV1c checkpoint loads unchanged: plugins
# add modules, they rename nothing. It loads through
# hrseg_plugin.CheckedPretrained (not the base's model-level `pretrained`,
# which is mmengine's Pretrained): a checkpoint of another depth or network
# is refused by name; only the SPM keys may be missing from it.
_base_ = [
    './_base_/models/spnet_r50.py',
    './_base_/datasets/cityscapes_checked.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
model = dict(data_preprocessor=dict(size=crop_size))

# hrseg_plugin.engine: checkpoints written to a temporary file and renamed
# (a kill never leaves the latest one unreadable); training stops at the
# first NaN/Inf loss; heads' in_channels are checked against the backbone
# before any data is read
default_hooks = dict(checkpoint=dict(type='hrseg_plugin.AtomicCheckpointHook'))
custom_hooks = [
    dict(type='hrseg_plugin.NonFiniteLossHook'),
    dict(type='hrseg_plugin.ModelCheckHook'),
    dict(type='hrseg_plugin.SkippedImagesHook')
]

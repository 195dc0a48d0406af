# The SPNet model of configs/spnet_r50.py and configs/demo/spnet_r50.py.
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
_base_ = 'mmseg::_base_/models/fcn_r50-d8.py'
custom_imports = dict(imports=['hrseg_plugin'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        # stock's ResNetV1c (its arguments alongside) with its conv + BN
        # pairs folded in eval mode: same class, plugins and keys
        type='hrseg_plugin.WithSpeedups',
        module='ResNetV1c',
        plugins=[
            dict(
                cfg=dict(type='hrseg_plugin.SPM'),
                stages=(False, False, False, True),
                position='after_conv2')
        ],
        init_cfg=dict(
            type='hrseg_plugin.CheckedPretrained',
            checkpoint='open-mmlab://resnet50_v1c',
            allow_missing=[r'\.spm\.'])),
    decode_head=dict(
        _delete_=True,
        type='hrseg_plugin.StripPoolingHead',
        in_channels=2048,
        in_index=3,
        mpm_channels=1024,
        num_mpms=2,
        pool_sizes=(20, 12),
        channels=512,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))

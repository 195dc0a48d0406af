# FCOS (GN head) with HRNetV2p-W40 (hrseg_plugin HRNet + HRFPN) on COCO,
# multi-scale training (640-800), 2x schedule (24 epochs; the only stock FCOS
# HRNetV2p-W40 config): configs/fcos_hrnetv2p_w18.py at width 40 with that
# recipe, which makes it stock mmdet's
# hrnet/fcos_hrnetv2p-w40-gn-head_ms-640-800-4xb4-2x_coco.py with our backbone
# and neck. Same state-dict layout: an mmdet model-zoo checkpoint loads after
# `tools/convert_weights.py --from mmdet`.
_base_ = './fcos_hrnetv2p_w18.py'
model = dict(
    backbone=dict(
        arch='w40', init_cfg=dict(checkpoint='open-mmlab://msra/hrnetv2_w40')),
    neck=dict(in_channels=[40, 80, 160, 320]))

# the recipe stock's W40 config inherits from
# fcos_hrnetv2p-w32-gn-head_ms-640-800-4xb4-2x_coco.py: images resized to a
# short side of 640 or 800 at random, 24 epochs with steps at 16 and 22
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, 640), (1333, 800)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[16, 22],
        gamma=0.1)
]

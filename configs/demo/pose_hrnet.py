# Top-down heatmap pose estimation sized for a CPU: the model of
# configs/pose_hrnet_w32_coco_256x192.py (stock mmpose's HRNet pose config
# with our backbone) with the smallest published HRNet width (w18_small_v1),
# 128x96 person crops and no pretrained weights, trained from scratch on the
# people of the generated demo scenes (tools/make_demo_data.py:
# data/demo/coco, annotations/person_keypoints_{train,val}2017.json, the 17
# COCO keypoints) in a few minutes on 2 cores. Evaluated with mmpose's
# CocoMetric (keypoint AP) on the ground-truth person boxes.
_base_ = '../pose_hrnet_w32_coco_256x192.py'
# a CPU-sized variant: no stock twin for tools/benchmark.py
stock_equivalent = None

codec = dict(
    type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1.5)
model = dict(
    # from scratch: nothing is downloaded
    backbone=dict(arch='w18_small_v1', init_cfg=None),
    # w18_small_v1's highest-resolution branch has 16 channels
    head=dict(in_channels=16, decoder=codec))

# data: the demo scenes' people (mmpose's COCO layout)
dataset_type = 'CocoDataset'
data_mode = 'topdown'
data_root = 'data/demo/coco/'
# stock mmpose's pipelines (no torchvision anywhere), at the smaller input
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(
    _delete_=True,
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        # the ground-truth boxes (stock reads a person detector's results)
        bbox_file=None,
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator

# schedule: iterations (an epoch is about 8 batches); Adam as stock, at a
# higher rate that converges from scratch within the schedule
max_iters = 300
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=30, by_epoch=False),
    dict(
        type='CosineAnnealingLR',
        eta_min=2e-5,
        begin=30,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    _delete_=True,
    # mmengine's IterBasedTrainLoop, built by the runner without a registry
    # (mmpose's LOOPS registry imports mmpose.visualization: see below)
    by_epoch=False,
    max_iters=max_iters,
    val_interval=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        type='hrseg_plugin.AtomicCheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=1,
        save_best=None))
auto_scale_lr = dict(enable=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)

# Visualizer, visualization backends and log processor: mmengine's own,
# built from mmengine's registries (`_scope_='mmengine'`), not stock's
# PoseLocalVisualizer. Why: mmpose.visualization imports torchvision
# (simcc_vis.py: `from torchvision.transforms import ToPILImage`), and
# mmpose's VISUALIZERS, VIS_BACKENDS and LOG_PROCESSORS registries import
# mmpose.visualization as soon as anything is built from them, even
# mmengine's LogProcessor. Where torchvision cannot be imported (no build
# works with the pinned CPU torch on the machines this was written on) the
# stock choice stops every run before training starts; with these three
# this config trains and tests without torchvision. Training draws nothing
# (stock's PoseVisualizationHook is off); tools/infer.py draws the
# skeletons with hrseg_plugin's PoseSkeletonVisualizer, which does not
# need torchvision either.
vis_backends = [dict(type='LocalVisBackend', _scope_='mmengine')]
visualizer = dict(
    type='Visualizer',
    _scope_='mmengine',
    vis_backends=[dict(type='LocalVisBackend')],
    name='visualizer')
log_processor = dict(
    type='LogProcessor', _scope_='mmengine', window_size=20, by_epoch=False)

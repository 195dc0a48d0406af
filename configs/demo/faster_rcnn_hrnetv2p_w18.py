# Faster R-CNN with HRNetV2p (hrseg_plugin HRNet + HRFPN) sized for a CPU:
# the model of configs/faster_rcnn_hrnetv2p_w18.py with the smallest published
# HRNet width (w18_small_v1), narrower heads and no pretrained weights, trained
# from scratch on the generated demo scenes in COCO layout
# (tools/make_demo_data.py: person, car, traffic sign; 256x512 images) in a
# few minutes on 2 cores. configs/demo/mask_rcnn_hrnetv2p_w18.py builds on it.
_base_ = '../faster_rcnn_hrnetv2p_w18.py'
# a CPU-sized variant: no stock twin for tools/benchmark.py
stock_equivalent = None
hrnet_channels = [16, 32, 64, 128]
fpn_channels = 64
num_classes = 3
model = dict(
    # from scratch: BN statistics are learned, nothing is downloaded
    backbone=dict(arch='w18_small_v1', norm_eval=False, init_cfg=None),
    neck=dict(in_channels=hrnet_channels, out_channels=fpn_channels),
    rpn_head=dict(
        in_channels=fpn_channels,
        feat_channels=fpn_channels,
        # the demo objects are small: anchors of 16..256 px, not 32..512
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        # RoIAlign is the slowest op on a CPU (its backward most): a fixed
        # 2x2 samples per bin instead of adaptive, and 256 sampled RoIs per
        # image instead of 512
        bbox_roi_extractor=dict(
            roi_layer=dict(sampling_ratio=2), out_channels=fpn_channels),
        bbox_head=dict(
            in_channels=fpn_channels,
            fc_out_channels=256,
            num_classes=num_classes)),
    # fewer proposals to sort and NMS per training image (stock: 2000 -> 1000)
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(sampler=dict(num=256))))

# data: the demo scenes in COCO layout
dataset_type = 'CocoDataset'
data_root = 'data/demo/coco/'
metainfo = dict(
    classes=('person', 'car', 'traffic sign'),
    palette=[(220, 20, 60), (0, 0, 142), (220, 220, 0)])
image_scale = (512, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric='bbox',
    format_only=False)
test_evaluator = val_evaluator

# schedule: AdamW converges from scratch in a few hundred iterations, which
# SGD at the stock lr does not
max_iters = 300
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=20, by_epoch=False),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        begin=20,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='hrseg_plugin.AtomicCheckpointHook',
        by_epoch=False,
        interval=100,
        max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)

# The generated demo scenes (tools/make_demo_data.py) in Cityscapes layout:
# 256x512 images, 256x256 training crops. mmseg's stock CityscapesDataset
# with hrseg_plugin's loaders: an unreadable image / label file fails with its
# name, a label outside [0, 19) other than 255 fails with the file and value.
dataset_type = 'CityscapesDataset'
data_root = 'data/demo/cityscapes/'
crop_size = (256, 256)
train_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(type='hrseg_plugin.LoadSegAnnotations', num_classes=19),
    dict(
        type='RandomResize',
        scale=(512, 256),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='hrseg_plugin.LoadImageFromFile'),
    dict(type='Resize', scale=(512, 256), keep_ratio=True),
    dict(type='hrseg_plugin.LoadSegAnnotations', num_classes=19),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
# mmseg's MMSegInferencer finds the image loader of the test pipeline by its
# type name 'LoadImageFromFile' (and refuses a config without it): the test
# loader keeps mmcv's name; tools/test.py swaps the checked one back in.
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'],
        pipeline=[dict(type='LoadImageFromFile')] + test_pipeline[1:]))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

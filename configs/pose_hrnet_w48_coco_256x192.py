# Top-down heatmap pose estimation with HRNet-W48 on COCO keypoints,
# 256x192 input, 210 epochs: stock mmpose's
# body_2d_keypoint/topdown_heatmap/coco/
# td-hm_hrnet-w48_8xb32-210e_coco-256x192.py
# with our backbone (tests/test_pose.py checks that nothing else differs).
# Same state-dict layout: an mmpose model-zoo checkpoint loads after
# `tools/convert_weights.py --from mmpose` and gives the same heatmaps.
_base_ = 'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-256x192.py'  # noqa: E501
custom_imports = dict(imports=['hrseg_plugin'], allow_failed_imports=False)
default_scope = 'mmpose'
model = dict(
    backbone=dict(
        _delete_=True,
        type='hrseg_plugin.HRNet',
        arch='w48',
        in_channels=3,
        # stock mmpose HRNet: nearest-upsampling fuse, and only the
        # highest-resolution branch out of the last module (its keys too)
        upsample_cfg=dict(mode='nearest'),
        multiscale_output=False,
        # the same ImageNet checkpoint, loaded with the key / shape check
        init_cfg=dict(
            type='hrseg_plugin.CheckedPretrained',
            checkpoint='https://download.openmmlab.com/mmpose/'
            'pretrain_models/hrnet_w48-8ef0771d.pth')))

# the same model in stock mmpose (tools/benchmark.py --compare-stock)
stock_equivalent = 'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-256x192.py'  # noqa: E501

# hrseg_plugin.engine: checkpoints written to a temporary file and renamed (a
# kill never leaves the latest one unreadable); training stops at the first
# NaN/Inf loss, naming the loss term
default_hooks = dict(checkpoint=dict(type='hrseg_plugin.AtomicCheckpointHook'))
custom_hooks = [
    dict(type='SyncBuffersHook'),  # stock mmpose's
    dict(type='hrseg_plugin.NonFiniteLossHook')
]

# Top-down heatmap pose estimation with HRNet-W48 on COCO keypoints,
# 256x192 input, 210 epochs: configs/pose_hrnet_w32_coco_256x192.py at width
# 48 with batch 32 per GPU, which makes it stock mmpose's
# body_2d_keypoint/topdown_heatmap/coco/
# td-hm_hrnet-w48_8xb32-210e_coco-256x192.py
# with our backbone. Same state-dict layout: an mmpose model-zoo checkpoint
# loads after `tools/convert_weights.py --from mmpose`.
_base_ = './pose_hrnet_w32_coco_256x192.py'
model = dict(
    backbone=dict(
        arch='w48',
        init_cfg=dict(
            checkpoint='https://download.openmmlab.com/mmpose/'
            'pretrain_models/hrnet_w48-8ef0771d.pth')),
    head=dict(in_channels=48))
train_dataloader = dict(batch_size=32)

# the same model in stock mmpose (tools/benchmark.py --compare-stock)
stock_equivalent = 'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-256x192.py'  # noqa: E501

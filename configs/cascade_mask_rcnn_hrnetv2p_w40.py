# Cascade Mask R-CNN with HRNetV2p-W40 (hrseg_plugin HRNet + HRFPN) on COCO,
# 20-epoch schedule: configs/cascade_mask_rcnn_hrnetv2p_w18.py at width 40,
# which makes it stock mmdet's hrnet/cascade-mask-rcnn_hrnetv2p-w40-20e_coco.py
# with our backbone and neck. Same state-dict layout: an mmdet model-zoo
# checkpoint loads after `tools/convert_weights.py --from mmdet`.
_base_ = './cascade_mask_rcnn_hrnetv2p_w18.py'
model = dict(
    backbone=dict(
        arch='w40', init_cfg=dict(checkpoint='open-mmlab://msra/hrnetv2_w40')),
    neck=dict(in_channels=[40, 80, 160, 320]))

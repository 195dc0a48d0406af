# Mask R-CNN with HRNetV2p-W32 (hrseg_plugin HRNet + HRFPN) on COCO, 1x
# schedule (12 epochs): configs/mask_rcnn_hrnetv2p_w18.py at width 32, which
# makes it stock mmdet's hrnet/mask-rcnn_hrnetv2p-w32-1x_coco.py with our
# backbone and neck. Same state-dict layout: an mmdet model-zoo checkpoint
# loads after `tools/convert_weights.py --from mmdet`.
_base_ = './mask_rcnn_hrnetv2p_w18.py'
model = dict(
    backbone=dict(
        arch='w32', init_cfg=dict(checkpoint='open-mmlab://msra/hrnetv2_w32')),
    neck=dict(in_channels=[32, 64, 128, 256]))

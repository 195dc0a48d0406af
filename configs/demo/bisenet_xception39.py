# BiSeNet with the paper's fastest context path, Xception39
# (configs/bisenet_xception39.py), sized for a CPU: the half-width spatial
# path, context path and heads of configs/demo/bisenet_r18.py, trained from
# scratch on the generated demo scenes with its data and schedule.
_base_ = './bisenet_r18.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        backbone_cfg=dict(
            _delete_=True, type='hrseg_plugin.Xception39', norm_cfg=norm_cfg),
        upsample_cfg=dict(mode='bilinear', align_corners=True)),
    decode_head=dict(attention_cfg=dict(_delete_=True, reduction=1)))

# BiSeNet-R18 as CoinCheung/BiSeNet's BiSeNetV1 (current version), for their
# checkpoints: `tools/convert_weights.py --from bisenet-coincheung IN OUT
# --config configs/bisenet_r18_coincheung.py`. Differences from
# configs/bisenet_r18.py (stock mmseg's variant): the FFM attention is
# C -> C/4 -> C without norm, and every output predicts num_classes * r**2
# channels that are pixel-shuffled to full resolution (r = 8, 8, 16).
# Their earlier version (no pixel shuffle, align_corners=True) needs the
# overrides printed by the converter. Data and schedule: stock's (their own
# recipe uses OHEM and 80k iterations).
_base_ = './bisenet_r18.py'
# no stock mmseg twin of this model for tools/benchmark.py --compare-stock
stock_equivalent = None
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        attention_cfg=dict(_delete_=True, reduction=4),
        pixel_shuffle_factor=8),
    auxiliary_head=[
        dict(
            type='hrseg_plugin.PixelShuffleFCNHead',
            pixel_shuffle_factor=factor,
            in_channels=128,
            channels=64,
            num_convs=1,
            num_classes=19,
            in_index=i,
            norm_cfg=norm_cfg,
            concat_input=False,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
        for i, factor in ((1, 8), (2, 16))
    ])

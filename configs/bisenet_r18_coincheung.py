# BiSeNet-R18 as CoinCheung/BiSeNet's BiSeNetV1 today (their layout since
# commit e40b825, 2021-07-13, unchanged at their latest commit 6b4b67a), for
# their published Cityscapes checkpoint model_final_v1_city_new.pth (75.44
# mIoU single-scale on Cityscapes val in their README):
#   tools/convert_weights.py --from bisenet-coincheung model_final_v1_city_new.pth \
#       bisenetv1_city_coincheung.pth --config configs/bisenet_r18_coincheung.py
# Differences from configs/bisenet_r18.py (stock mmseg's variant): the FFM
# attention is conv-BN-sigmoid (stock: conv-BN-ReLU-sigmoid) and the heads
# have no dropout; their outputs are upsampled bilinearly by 8 (main, 1/16
# head) and 16 (1/32 head), which is mmseg's resize to the input for inputs
# whose sides are multiples of 32 (the only sizes their tools feed).
# Their older layouts (2020 to July 2021) are this config with the
# --cfg-options the converter prints (hrseg_plugin.converters.
# bisenet_coincheung.LAYOUT_OPTIONS). Data and schedule: stock's (their own
# recipe uses OHEM and 80k iterations).
_base_ = './bisenet_r18.py'
# no stock mmseg twin of this model for tools/benchmark.py --compare-stock
stock_equivalent = None
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        attention_cfg=dict(_delete_=True, reduction=None, norm_cfg=norm_cfg),
        dropout_ratio=0.0),
    # the base's two auxiliary heads as stock FCNHeads, without dropout
    auxiliary_head=[
        dict(
            {k: v for k, v in head.items() if k != 'module'},
            type='FCNHead',
            dropout_ratio=0.0) for head in _base_.model.auxiliary_head
    ])

"""A toy model with two loss terms and a runner around it: the NaN-stop and
atomic-checkpoint tests train it for a few iterations in-process."""
import copy

import torch
from mmengine.model import BaseModel


class ToyLossModel(BaseModel):
    """Two loss terms; ``loss_b`` is NaN from iteration ``bad_iter`` on."""

    def __init__(self, bad_iter, bad_value=float('nan')):
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)
        self.bad_iter, self.bad_value = bad_iter, bad_value
        self.calls = 0
        self.seen = []  # the weights each forward saw

    def forward(self, x, mode='loss'):
        x = torch.stack(x) if isinstance(x, list) else x
        self.calls += 1
        self.seen.append(copy.deepcopy(self.state_dict()))
        loss_a = (self.fc(x)**2).mean()
        loss_b = loss_a * 0 + 1
        if self.calls >= self.bad_iter:
            loss_b = loss_b * self.bad_value
        return dict(loss_a=loss_a, loss_b=loss_b)


def toy_runner(tmp_path, model, with_hook):
    from mmengine.runner import Runner
    data = [dict(x=torch.randn(4)) for _ in range(8)]
    return Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='InfiniteSampler'),
            batch_size=2,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=6),
        default_hooks=dict(checkpoint=dict(
            type='hrseg_plugin.AtomicCheckpointHook', by_epoch=False,
            interval=1)),
        custom_hooks=[dict(type='hrseg_plugin.NonFiniteLossHook')]
        if with_hook else None,
        default_scope='mmengine')


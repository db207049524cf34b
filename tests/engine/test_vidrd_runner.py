"""VidRDRunner writes checkpoints atomically by overriding save_checkpoint, with no global of
mmengine patched, and holds what mmengine's own Runner would write."""
import os

import mmengine.runner.runner as mmengine_runner
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from vidrd.engine.runner import VidRDRunner


class ToyDataset(Dataset):
    metainfo = dict(name='toy')

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return dict(inputs=torch.full((2,), float(index)))


class ToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs) if isinstance(inputs, list) else inputs)
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


def toy_runner(work_dir) -> VidRDRunner:
    return VidRDRunner(
        model=ToyModel(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=ToyDataset(), sampler=dict(type='DefaultSampler'),
                              batch_size=2, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        param_scheduler=dict(type='ConstantLR', factor=1.0),
        train_cfg=dict(by_epoch=False, max_iters=2),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2)),
        env_cfg=dict(dist_cfg=dict(backend='gloo'), tune_cpu_allocator=False),
        default_scope='mmengine', log_level='WARNING')


@pytest.fixture
def writes(monkeypatch):
    """Every torch.save: (its target, whether mmengine's save_checkpoint was untouched then)."""
    original, calls = mmengine_runner.save_checkpoint, []
    torch_save = torch.save

    def save(obj, f, *args, **kwargs):
        calls.append((f.name if hasattr(f, 'name') else f,
                      mmengine_runner.save_checkpoint is original))
        return torch_save(obj, f, *args, **kwargs)
    monkeypatch.setattr(torch, 'save', save)
    yield calls
    assert mmengine_runner.save_checkpoint is original


def test_saving_leaves_mmengines_save_checkpoint_untouched(tmp_path, writes):
    original = mmengine_runner.save_checkpoint
    runner = toy_runner(tmp_path)
    runner.train()  # the CheckpointHook saves iter_2.pth
    assert mmengine_runner.save_checkpoint is original
    assert len(writes) == 1
    target, untouched = writes[0]
    assert untouched  # also while the checkpoint was written
    # written under a temporary name in the same folder, renamed when complete
    assert os.path.dirname(target) == str(tmp_path)
    assert os.path.basename(target).startswith('.iter_2.pth.') and target.endswith('.tmp')
    assert sorted(os.listdir(tmp_path))[-2:] == ['iter_2.pth', 'last_checkpoint']
    assert not any(name.endswith('.tmp') for name in os.listdir(tmp_path))
    ckpt = torch.load(tmp_path / 'iter_2.pth', weights_only=False)
    assert ckpt['meta']['iter'] == 2 and ckpt['meta']['dataset_meta'] == dict(name='toy')


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    runner = toy_runner(tmp_path)
    runner.train()
    before = (tmp_path / 'iter_2.pth').read_bytes()

    def fail(obj, f, *args, **kwargs):
        with open(f, 'wb') as file:
            file.write(b'half a checkpoint')
        raise OSError('disk full')
    monkeypatch.setattr(torch, 'save', fail)
    with pytest.raises(OSError, match='disk full'):
        runner.save_checkpoint(str(tmp_path), 'iter_2.pth', by_epoch=False)
    assert (tmp_path / 'iter_2.pth').read_bytes() == before
    assert not any(name.endswith('.tmp') for name in os.listdir(tmp_path))


def test_the_checkpoint_holds_what_mmengines_runner_writes(tmp_path):
    runner = toy_runner(tmp_path)
    runner.train()
    runner.save_checkpoint(str(tmp_path), 'ours.pth', by_epoch=False)
    Runner.save_checkpoint(runner, str(tmp_path), 'mmengine.pth', by_epoch=False)
    ours = torch.load(tmp_path / 'ours.pth', weights_only=False)
    theirs = torch.load(tmp_path / 'mmengine.pth', weights_only=False)
    assert set(ours) == set(theirs)
    assert set(ours['meta']) == set(theirs['meta'])
    for key in ('epoch', 'iter', 'seed', 'experiment_name', 'cfg', 'dataset_meta'):
        assert ours['meta'][key] == theirs['meta'][key], key
    for key, value in theirs['state_dict'].items():
        assert torch.equal(ours['state_dict'][key], value), key
    assert ours['optimizer'].keys() == theirs['optimizer'].keys()
    assert ours['param_schedulers'] == theirs['param_schedulers']

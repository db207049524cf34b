"""BadSampleCounter and BadSampleReportHook (vidrd/engine/hooks), inside a real mmengine Runner."""
import glob
import os.path as osp
import pickle

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from vidrd.datasets import BadSampleCounter
from vidrd.engine.hooks import BadSampleReportHook


def test_counter_records_and_summarises():
    counter = BadSampleCounter()
    assert counter.summary() == 'no unreadable samples skipped'
    counter.record('/data/a.mp4', 'cannot read /data/a.mp4: bad')
    counter.record('/data/a.mp4', 'cannot read /data/a.mp4: bad')
    counter.record('/data/b.mp4', 'missing')
    assert counter.count == 3 and counter.paths == ['/data/a.mp4', '/data/b.mp4']
    assert '3 unreadable sample(s) skipped, 2 distinct' in counter.summary()
    copy = pickle.loads(pickle.dumps(counter))  # DataLoader workers pickle datasets
    copy.record('/data/c.mp4', 'x')
    assert copy.count == 4 and counter.count == 3
    counter.reset()
    assert counter.count == 0 and counter.paths == []


class _TinyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='loss'):
        return dict(loss=(inputs.float().mean() - self.weight).pow(2))


@pytest.mark.parametrize('num_workers', [0, 2])
def test_runner_reports_skipped_files(video_folder, media, tmp_path, num_workers):
    (video_folder / 'videos' / 'b.mp4').write_bytes(b'corrupt' * 100)
    dataset = dict(type='VideoTextDataset', ann_file='ann.csv', data_root=str(video_folder),
                   data_prefix=dict(video='videos'), pipeline=media.VIDEO_PIPELINE)
    hook = BadSampleReportHook()
    runner = Runner(
        model=_TinyModel(), work_dir=str(tmp_path / f'work{num_workers}'),
        train_dataloader=dict(dataset=dataset, batch_size=3, num_workers=num_workers,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[hook], default_hooks=dict(checkpoint=None), default_scope='vidrd',
        experiment_name=f'bad_samples_{num_workers}')
    runner.train()
    # One corrupt file in each of 2 epochs, counted in the main process even with workers.
    assert runner.message_hub.get_scalar('train/skipped_samples').current() == 1
    assert hook.counters['train/run'].count == 2
    assert hook.counters['train/run'].paths[0].endswith('videos/b.mp4')
    log = open(glob.glob(osp.join(runner.log_dir, '*.log'))[0]).read()
    assert 'epoch 1: 1 unreadable sample(s) skipped' in log and 'b.mp4' in log

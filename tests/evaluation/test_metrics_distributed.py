"""A metric run on 2 processes (gloo, CPU) gives the value of one process on the same data."""
import os
import os.path as osp
import socket
import sys

import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tiny_extractor import TinyVideoExtractor  # noqa: E402

from vidrd.evaluation.metrics import FrechetVideoDistance, InceptionScore  # noqa: E402

NUM_VIDEOS = 23  # odd: the sampler pads rank 1, and collect_results must drop the padding


def _dataset():
    g = torch.Generator().manual_seed(0)

    def video():  # per-video colour offsets, so features and class predictions vary
        offset = torch.rand(3, 1, 1, 1, generator=g) * 0.7
        return (torch.rand(3, 8, 6, 6, generator=g) * 0.3 + offset) * 2 - 1

    fake = [video() for _ in range(NUM_VIDEOS)]
    real = [video() for _ in range(NUM_VIDEOS)]
    return [dict(video=f, gt_video=r) for f, r in zip(fake, real)]


def _evaluate(rank, world_size, batch_size=4):
    """Like mmengine's test loop with a DefaultSampler (indices rank::world_size, padded)."""
    samples = _dataset()
    indices = list(range(NUM_VIDEOS))
    per_rank = -(-NUM_VIDEOS // world_size)
    indices = (indices + indices[:per_rank * world_size - NUM_VIDEOS])[rank::world_size]
    metrics = [FrechetVideoDistance(extractor=TinyVideoExtractor()),
               InceptionScore(extractor=TinyVideoExtractor(), num_splits=5)]
    for start in range(0, len(indices), batch_size):
        batch = [samples[i] for i in indices[start:start + batch_size]]
        for metric in metrics:
            metric.process(None, batch)
    out = {}
    for metric in metrics:
        out.update(metric.evaluate(NUM_VIDEOS))
    return out


def _worker(rank, world_size, port, workdir, queue):
    os.chdir(workdir)  # mmengine's CPU collection writes a temporary folder into the cwd
    torch.set_num_threads(1)
    # initialised directly: mmengine's init_dist would call torch.cuda.set_device
    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=world_size)
    try:
        queue.put((rank, _evaluate(rank, world_size)))
    finally:
        torch_dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_equal_one(tmp_path):
    single = _evaluate(0, 1)
    context = mp.get_context('spawn')
    queue = context.SimpleQueue()
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path), queue), nprocs=2, join=True)
    results = dict(queue.get() for _ in range(2))
    for rank in (0, 1):  # rank 0 computes, mmengine broadcasts the result to every rank
        assert results[rank].keys() == single.keys()
        for key, value in single.items():
            # features are float32 and the ranks batch videos differently: equal to float32
            # rounding; any sample lost, duplicated (padding) or reordered would move far more
            assert results[rank][key] == pytest.approx(value, rel=1e-6), key

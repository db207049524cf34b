"""The one CPU-only distributed set-up (vidrd/utils/distributed.py), used by build_runner and by
FSDP2Strategy: a gloo group from torchrun's environment where there is no CUDA."""
import json
import os
import socket
import subprocess
import sys

import pytest
import torch

PROBE = """
import json
import torch.distributed as dist
from mmengine.config import Config
from vidrd.apis.run_config import init_cpu_distributed
from vidrd.engine.strategies.fsdp2_strategy import FSDP2Strategy
from vidrd.utils.distributed import init_cpu_process_group

cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
init_cpu_distributed(cfg)
first = dict(backend=dist.get_backend(), world=dist.get_world_size(),
             wrapper=cfg.model_wrapper_cfg.to_dict(), env_cfg=cfg.env_cfg.to_dict())
group = dist.group.WORLD
again = init_cpu_process_group()  # an existing group is kept
FSDP2Strategy.__new__(FSDP2Strategy)._setup_distributed('pytorch', 'nccl')
print(json.dumps(dict(first, again=again, same_group=dist.group.WORLD is group)))
dist.destroy_process_group()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU-only path')
def test_one_gloo_set_up_for_ddp_and_fsdp2():
    env = dict(os.environ, RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
               MASTER_PORT=str(free_port()))
    out = subprocess.run([sys.executable, '-c', PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout
    result = json.loads(out.splitlines()[-1])
    assert result['backend'] == 'gloo' and result['world'] == 1
    assert result['wrapper'] == dict(type='MMDistributedDataParallel', device_ids=None)
    assert result['env_cfg'] == dict(dist_cfg=dict(backend='gloo'))
    assert result['again'] is True and result['same_group'] is True


def test_without_a_launcher_nothing_starts():
    from mmengine.config import Config

    from vidrd.apis.run_config import init_cpu_distributed
    cfg = Config(dict(launcher='none'))
    init_cpu_distributed(cfg)
    assert not torch.distributed.is_initialized() and 'model_wrapper_cfg' not in cfg

"""Training with mmengine's Runner: checkpoints, resume, multi-process, failing fast."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from vidrd.apis.run_config import build_runner, check_paths, load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')


def _run(work_dir, options, max_iters, resume=None, checkpoint_interval=2):
    options = dict(options)
    options.update({'train_cfg.max_iters': max_iters,
                    'default_hooks.checkpoint.interval': checkpoint_interval,
                    'model.caption_dropout': 0.5})
    cfg = load_config(TINY, options, work_dir=str(work_dir), resume=resume)
    runner = build_runner(cfg)
    runner.train()
    return {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


@pytest.mark.slow
def test_resume_reaches_the_same_weights_as_an_uninterrupted_run(tmp_path, tiny_config_options):
    straight = _run(tmp_path / 'straight', tiny_config_options, max_iters=4)
    _run(tmp_path / 'resumed', tiny_config_options, max_iters=2)  # "killed" after iter 2
    resumed = _run(tmp_path / 'resumed', tiny_config_options, max_iters=4, resume='auto')
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key

    # the checkpoint holds the trainable subset only and loads without unpickling objects
    ckpt = torch.load(tmp_path / 'resumed' / 'iter_4.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 4 and ckpt['meta']['vidrd_frozen_keys'] > 0
    assert not any(k.startswith(('text_encoder.', 'vae.')) for k in ckpt['state_dict'])
    assert set(ckpt['state_dict']) < set(straight)
    assert not any(name.startswith('.') for name in os.listdir(tmp_path / 'resumed'))


class Payload:  # a class a weights-only unpickler refuses
    pass


def test_a_user_supplied_pickle_is_not_unpickled_on_resume(tmp_path, tiny_config_options):
    bad = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': {'epoch': 0, 'iter': 1}, 'x': Payload()}, bad)
    options = dict(tiny_config_options, **{'train_cfg.max_iters': 2})
    cfg = load_config(TINY, options, work_dir=str(tmp_path / 'wd'), resume=str(bad))
    with pytest.raises(Exception, match='[Ww]eights.only|Unsupported global'):
        build_runner(cfg).train()


def _ddp_worker(rank, world, port, work_dir, options, out):
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    cfg = load_config(TINY, options, work_dir=work_dir, launcher='pytorch')
    runner = build_runner(cfg)
    runner.train()
    model = runner.model.module
    torch.save({k: v.detach() for k, v in model.state_dict().items()}, f'{out}.{rank}')


@pytest.mark.slow
def test_two_process_gloo_run_matches_one_process(tmp_path, tiny_config_options):
    options = dict(tiny_config_options)
    options.update({'train_cfg.max_iters': 2, 'default_hooks.checkpoint.interval': 100,
                    'model.caption_dropout': 0.5, 'train_dataloader.batch_size': 2,
                    # SGD: the update is linear in the gradient, so only float rounding differs
                    'optim_wrapper.optimizer': dict(_delete_=True, type='SGD', lr=0.05),
                    'train_dataloader.sampler': dict(type='DefaultSampler', shuffle=True)})
    out = str(tmp_path / 'ddp_weights')
    torch.multiprocessing.spawn(_ddp_worker, args=(2, 29611, str(tmp_path / 'ddp'), options, out),
                                nprocs=2, join=True)
    rank0, rank1 = torch.load(f'{out}.0'), torch.load(f'{out}.1')
    single_options = dict(options, **{'train_dataloader.batch_size': 4})
    cfg = load_config(TINY, single_options, work_dir=str(tmp_path / 'single'))
    runner = build_runner(cfg)
    runner.train()
    single = runner.model.state_dict()
    initial = build_runner(load_config(TINY, single_options, work_dir=str(tmp_path / 'init')))
    initial = initial.model.state_dict()
    assert any(not torch.equal(rank0[k], initial[k]) for k in rank0)  # training moved weights
    for key, value in rank0.items():
        assert torch.equal(value, rank1[key]), key
        torch.testing.assert_close(value, single[key], rtol=1e-4, atol=1e-5)


def test_real_config_stops_at_once_naming_the_missing_paths(tmp_path):
    cfg = load_config(osp.join(REPO, 'configs', 'vidrd_sd21_ucf.py'), work_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        check_paths(cfg, sections=('model', 'train_dataloader'))
    message = str(err.value)
    for expected in ('model.unet.folder', 'data/stable-diffusion-2-1-base/unet',
                     'model.text_encoder.tokenizer', 'train_dataloader.dataset.data_root',
                     'data/ucf101', '--cfg-options'):
        assert expected in message
    result = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'train.py'),
                             osp.join(REPO, 'configs', 'vidrd_sd21_ucf.py'), '--work-dir',
                             str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert 'data/stable-diffusion-2-1-base/unet' in result.stderr


def test_amp_switch_picks_an_autocast_wrapper_on_cpu(tmp_path):
    cfg = load_config(TINY, work_dir=str(tmp_path), amp='bf16')
    expected = 'AmpOptimWrapper' if torch.cuda.is_available() else 'AutocastOptimWrapper'
    assert cfg.optim_wrapper.type == expected and cfg.optim_wrapper.dtype == 'bfloat16'

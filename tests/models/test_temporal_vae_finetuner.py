"""TemporalVAEFinetuner: only temporal layers train, both optimisers step, the GAN term starts
on time, and the export loads like the release's vae_finetuned/ folder."""
import json
import os.path as osp

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from safetensors.torch import load_file

from vidrd.evaluation.metrics.reconstruction import VideoReconstructionMetric
from vidrd.models.losses.perceptual_loss import _vgg16_features
from vidrd.models.temporal_vae_finetuner import TemporalVAEFinetuner
from vidrd.models.vaes import AutoencoderKL, is_temporal_key
from vidrd.registry import MODELS
from vidrd.utils.checkpoint import WeightsNotFoundError

TINY = dict(block_out_channels=(8, 16), down_block_types=('DownEncoderBlock2D',) * 2,
            up_block_types=('UpDecoderBlock2D',) * 2, layers_per_block=1, norm_num_groups=8)
TINY_TEMPORAL = dict(type='TemporalConv', num_layers=3, norm_groups=8, dropout=0.0)
TINY_DISC = dict(type='PatchDiscriminator3D', base_channels=8, num_layers=2, norm='group')


@pytest.fixture(autouse=True)
def fresh_message_hub(request):
    """A MessageHub without 'iter', so the model counts its own steps (no runner here)."""
    MessageHub.get_instance(f'vae_finetuner_{request.node.name}')


def tiny_finetuner(**kwargs) -> TemporalVAEFinetuner:
    torch.manual_seed(0)
    kwargs.setdefault('discriminator', TINY_DISC)
    return TemporalVAEFinetuner(AutoencoderKL(**TINY, temporal_conv=TINY_TEMPORAL), **kwargs)


def optim_wrappers(model: TemporalVAEFinetuner, lr: float = 1e-3) -> OptimWrapperDict:
    groups = model.parameters_to_optimize()
    return OptimWrapperDict(**{name: OptimWrapper(torch.optim.Adam(params, lr=lr))
                               for name, params in groups.items()})


def clips(b: int = 2, f: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, 3, f, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def snapshot(module: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@torch.no_grad()
def test_at_init_decodes_like_the_plain_vae():
    model = tiny_finetuner()
    plain = AutoencoderKL(**TINY)
    plain.load_state_dict(model.vae.state_dict(), strict=False)
    video = clips()
    recon, _ = model.reconstruct(video)
    frames = video.transpose(1, 2).reshape(-1, 3, 16, 16)
    expected = plain(frames)[0].view(2, 4, 3, 16, 16).transpose(1, 2)
    assert torch.equal(recon, expected)


def test_only_temporal_layers_change_and_both_optimisers_step():
    model = tiny_finetuner(disc_start_iter=0)
    wrappers = optim_wrappers(model)
    vae_before, disc_before = snapshot(model.vae), snapshot(model.discriminator)
    trainable = {n for n, p in model.vae.named_parameters() if p.requires_grad}
    assert trainable and all(is_temporal_key(n) for n in trainable)
    assert trainable == {n for n, _ in model.vae.temporal_parameters()}
    for step in range(3):
        logs = model.train_step(dict(inputs=clips(seed=step)), wrappers)
    assert {'loss_l1', 'loss_kl', 'loss_gan', 'loss_disc', 'adaptive_weight'} <= set(logs)
    vae_after = model.vae.state_dict()
    for name, before in vae_before.items():
        if is_temporal_key(name):
            continue
        assert torch.equal(vae_after[name], before), f'{name} changed'
    changed = [n for n in trainable if not torch.equal(vae_after[n], vae_before[n])]
    assert any('convs.11.weight' in n for n in changed)
    disc_after = model.discriminator.state_dict()
    assert any(not torch.equal(disc_after[k], v) for k, v in disc_before.items())
    for name in ('generator', 'discriminator'):
        state = wrappers[name].optimizer.state
        assert state and all(int(s['step']) == 3 for s in state.values())


def test_discriminator_starts_at_the_configured_iteration():
    model = tiny_finetuner(disc_start_iter=2)
    wrappers = optim_wrappers(model)
    disc_before = snapshot(model.discriminator)
    for step in range(2):
        logs = model.train_step(dict(inputs=clips(seed=step)), wrappers)
        assert 'loss_gan' not in logs and 'loss_disc' not in logs
    assert all(torch.equal(model.discriminator.state_dict()[k], v)
               for k, v in disc_before.items())
    assert not wrappers['discriminator'].optimizer.state
    logs = model.train_step(dict(inputs=clips(seed=2)), wrappers)
    assert 'loss_gan' in logs and 'loss_disc' in logs
    assert wrappers['discriminator'].optimizer.state


def test_runner_iteration_decides_when_the_gan_starts():
    model = tiny_finetuner(disc_start_iter=5)
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 4)
    assert not model.gan_active()
    hub.update_info('iter', 5)
    assert model.gan_active()


def test_generator_loss_sums_its_terms_and_adaptive_weight_is_positive():
    model = tiny_finetuner(disc_start_iter=0, disc_weight=0.5)
    video = clips()
    recon, posterior = model.reconstruct(video, sample_posterior=False)
    losses = model.generator_losses(video, recon, posterior, use_gan=True)
    assert losses['adaptive_weight'].item() > 0
    l1 = (recon - video).abs().mean()
    torch.testing.assert_close(losses['loss_l1'], l1)
    torch.testing.assert_close(losses['loss_kl'], 1e-6 * posterior.kl().mean())


def test_gradient_checkpointing_gives_the_same_gradients():
    grads = []
    for flag in (False, True):
        model = tiny_finetuner(discriminator=None, gradient_checkpointing=flag,
                               sample_posterior=False)
        with torch.no_grad():  # non-zero temporal weights so every layer gets a gradient
            for _, p in model.vae.temporal_parameters():
                p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(1)) * 0.1)
        recon, posterior = model.reconstruct(clips(), sample_posterior=False)
        model.generator_losses(clips(), recon, posterior, False)['loss_l1'].backward()
        grads.append([p.grad.clone() for _, p in model.vae.temporal_parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_without_discriminator_a_single_optim_wrapper_works():
    model = tiny_finetuner(discriminator=None)
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters_to_optimize()['generator']))
    logs = model.train_step(dict(inputs={'video': list(clips())}), wrapper)
    assert 'loss_gan' not in logs


def test_input_errors_are_clear():
    model = tiny_finetuner()
    wrappers = optim_wrappers(model)
    with pytest.raises(ValueError, match='at least 2 frames'):
        model.train_step(dict(inputs=clips(f=1)), wrappers)
    with pytest.raises(TypeError, match='float'):
        model.train_step(dict(inputs=(clips() * 100).to(torch.uint8)), wrappers)
    with pytest.raises(KeyError, match='video'):
        model.val_step(dict(inputs={'frames': clips()}))
    with pytest.raises(ValueError, match='temporal layers'):
        TemporalVAEFinetuner(AutoencoderKL(**TINY))
    with pytest.raises(TypeError, match='OptimWrapperDict'):
        model.train_step(dict(inputs=clips()), OptimWrapper(torch.optim.SGD(
            model.parameters_to_optimize()['generator'], lr=0.1)))


def test_perceptual_loss_from_local_files(tmp_path):
    with pytest.raises(WeightsNotFoundError, match='lpips'):
        tiny_finetuner(perceptual_loss=dict(type='LPIPSLoss',
                                            lpips_weights=str(tmp_path / 'vgg.pth')))
    vgg = {f'features.{k}': v for k, v in _vgg16_features().state_dict().items()}
    lins = {f'lin{i}.model.1.weight': torch.rand(1, c, 1, 1)
            for i, c in enumerate((64, 128, 256, 512, 512))}
    torch.save({**vgg, **lins}, tmp_path / 'lpips_vgg.pth')
    model = tiny_finetuner(discriminator=None, perceptual_loss=dict(
        type='LPIPSLoss', lpips_weights=str(tmp_path / 'lpips_vgg.pth')))
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters_to_optimize()['generator']))
    logs = model.train_step(dict(inputs=clips(f=2)), wrapper)
    assert logs['loss_perceptual'] > 0


def test_val_step_feeds_the_reconstruction_metric():
    model = MODELS.build(dict(type='TemporalVAEFinetuner',
                              vae=dict(type='AutoencoderKL', **TINY, temporal_conv=TINY_TEMPORAL),
                              discriminator=TINY_DISC))
    metric = VideoReconstructionMetric()
    batch = dict(inputs=clips())
    outputs = model.val_step(batch)
    assert len(outputs) == 2 and outputs[0].video.shape == (3, 4, 16, 16)
    assert torch.equal(outputs[1].gt_video, batch['inputs'][1])
    metric.process(batch, outputs)
    results = metric.evaluate(2)
    assert set(results) == {'recon/PSNR', 'recon/SSIM', 'recon/temporal_diff_l1'}
    with torch.no_grad():
        assert torch.equal(model(batch['inputs'], mode='tensor'),
                           torch.stack([o.video for o in model.test_step(batch)]))


def test_export_loads_like_the_release_folder(reference_dir, tmp_path):
    """Fine-tune SD's tiny VAE a little, export, reload: same layout and keys as the fixture's
    vae_finetuned_tiny/, same decoding as the trained model."""
    model = TemporalVAEFinetuner(
        vae=dict(type='PretrainedAutoencoderKL', folder=osp.join(reference_dir, 'sd21_tiny', 'vae'),
                 temporal_conv=dict(type='TemporalConv', num_layers=3)),
        discriminator=dict(type='PatchDiscriminator2D', base_channels=8, num_layers=2))
    wrappers = optim_wrappers(model, lr=1e-2)
    for step in range(2):
        model.train_step(dict(inputs=clips(b=1, f=3, seed=step)), wrappers)
    model.export(str(tmp_path))
    release = osp.join(reference_dir, 'vae_finetuned_tiny')
    ours_cfg = json.load(open(tmp_path / 'config.json'))
    theirs_cfg = json.load(open(osp.join(release, 'config.json')))
    theirs_cfg.pop('_diffusers_version')
    assert ours_cfg == theirs_cfg
    ours = load_file(str(tmp_path / 'diffusion_pytorch_model.safetensors'))
    theirs = load_file(osp.join(release, 'diffusion_pytorch_model.safetensors'))
    assert ours.keys() == theirs.keys()
    assert all(ours[k].shape == theirs[k].shape for k in ours)

    reloaded = AutoencoderKL.from_pretrained(str(tmp_path)).eval()
    model.eval()
    z = torch.randn(6, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(reloaded.decode(z, num_frames=3), model.vae.decode(z, num_frames=3))
        assert not torch.equal(reloaded.decode(z, num_frames=3), reloaded.decode(z))


class _Clips(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=clips(b=1, f=3, seed=i)[0])


def test_trains_and_validates_in_an_mmengine_runner(tmp_path):
    """Runner iterations drive the GAN start; val outputs feed the reconstruction metric."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    DefaultScope.get_instance(f'vae_runner_{id(tmp_path)}', scope_name='vidrd')
    model = tiny_finetuner(disc_start_iter=1,
                           data_preprocessor=dict(type='VideoDataPreprocessor'))
    groups = model.parameters_to_optimize()
    loader = dict(dataset=_Clips(), batch_size=2, collate_fn=dict(type='default_collate'),
                  sampler=dict(type='DefaultSampler', shuffle=False))
    runner = Runner(
        model=model, work_dir=str(tmp_path), default_scope='vidrd',
        train_dataloader=loader, val_dataloader=loader, val_cfg=dict(),
        val_evaluator=[VideoReconstructionMetric()],
        train_cfg=dict(by_epoch=False, max_iters=2, val_interval=2),
        optim_wrapper=dict(
            generator=OptimWrapper(torch.optim.Adam(groups['generator'], 1e-3)),
            discriminator=OptimWrapper(torch.optim.Adam(groups['discriminator'], 1e-3))),
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)))
    runner.train()
    assert runner.iter == 2
    scalars = runner.message_hub.log_scalars
    assert 'train/loss_disc' in scalars and len(scalars['train/loss_disc'].data[0]) == 1
    assert {'val/recon/PSNR', 'val/recon/SSIM', 'val/recon/temporal_diff_l1'} <= set(scalars)


def _ddp_worker(rank: int, world: int, port: int, out_dir: str) -> None:
    import os

    import torch.distributed as dist
    from mmengine.model import MMSeparateDistributedDataParallel
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    MessageHub.get_instance(f'ddp_{rank}')
    model = tiny_finetuner(disc_start_iter=1)  # same seed: same init on every rank
    wrappers = optim_wrappers(model, lr=1e-2)
    wrapped = MMSeparateDistributedDataParallel(model)
    for step in range(3):  # different clips per rank: only all-reduced gradients agree
        wrapped.train_step(dict(inputs=clips(b=1, seed=10 * rank + step)), wrappers)
    wrapped.val_step(dict(inputs=clips(b=1)))
    temporal = torch.cat([p.detach().flatten() for _, p in
                          model._vae_module.temporal_parameters()])
    disc = torch.cat([p.detach().flatten() for p in model._discriminator_module.parameters()])
    torch.save(dict(temporal=temporal, disc=disc), os.path.join(out_dir, f'rank{rank}.pt'))
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.slow
def test_separate_ddp_keeps_ranks_in_sync(tmp_path):
    """Two CPU processes (gloo) under mmengine's MMSeparateDistributedDataParallel."""
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    mp.start_processes(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2,
                       start_method='spawn')
    rank0, rank1 = (torch.load(str(tmp_path / f'rank{r}.pt')) for r in range(2))
    assert torch.equal(rank0['temporal'], rank1['temporal'])
    assert torch.equal(rank0['disc'], rank1['disc'])
    assert rank0['temporal'].abs().sum() > 0

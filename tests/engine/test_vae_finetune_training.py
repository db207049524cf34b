"""Temporal VAE decoder fine-tuning through the Runner: the two tiny configs (2D pretraining,
then Temp-Conv fine-tuning), the generator/discriminator optimiser constructor, the export hook,
and the SD-2.1 config failing fast without weights and data."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn

from vidrd.apis.run_config import build_runner, check_paths, load_config
from vidrd.engine.hooks.export_temporal_vae_hook import (export_vae_atomically,
                                                         export_vae_from_checkpoint)
from vidrd.engine.optim_wrapper_constructors import GeneratorDiscriminatorOptimWrapperConstructor
from vidrd.engine.optim_wrappers import AutocastOptimWrapper
from vidrd.models.vaes import AutoencoderKL, is_temporal_key
from vidrd.registry import MODELS
from vidrd.utils.checkpoint import WeightsNotFoundError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PRETRAIN = osp.join(REPO, 'configs', 'vae_tiny_shapes_pretrain.py')
TEMPORAL = osp.join(REPO, 'configs', 'vae_temporal_tiny_shapes.py')
SD21 = osp.join(REPO, 'configs', 'vae_temporal_sd21_ucf.py')

# shrink the embedded configs to 16x16 clips of 4 frames and 8/16-channel networks
SMALL_DATA = {
    'train_dataloader.batch_size': 2,
    'train_dataloader.dataset.size': 16,
    'train_dataloader.dataset.num_samples': 8,
    'val_dataloader.batch_size': 2,
    'val_dataloader.dataset.size': 16,
    'val_dataloader.dataset.num_frames': 4,
    'val_dataloader.dataset.num_samples': 2,
    'param_scheduler': [dict(type='ConstantLR', factor=1.0, by_epoch=False)],
    'default_hooks.logger.interval': 1,
    'default_hooks.checkpoint.interval': 100,
    'log_level': 'WARNING',
}
PRETRAIN_OPTIONS = dict(SMALL_DATA, **{
    'model.vae.block_out_channels': (8, 16),
    'train_cfg.max_iters': 2,
    'train_cfg.val_interval': 100,
})


def snapshot(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.fixture(scope='module')
def pretrained_vae(tmp_path_factory) -> str:
    """Step 1 (configs/vae_tiny_shapes_pretrain.py), shrunk: every VAE weight trains."""
    work_dir = tmp_path_factory.mktemp('vae_pretrain')
    cfg = load_config(PRETRAIN, dict(PRETRAIN_OPTIONS), work_dir=str(work_dir))
    runner = build_runner(cfg)
    before = snapshot(runner.model.vae)
    runner.train()
    after = runner.model.vae.state_dict()
    unchanged = [k for k, v in before.items() if torch.equal(v, after[k])]
    assert not unchanged, f'2D pretraining left weights unchanged: {unchanged[:5]}'
    folder = osp.join(str(work_dir), 'vae')
    config = json.load(open(osp.join(folder, 'config.json')))
    assert config['_class_name'] == 'AutoencoderKL' and 'add_temp_conv' not in config
    return folder


@pytest.fixture(scope='module')
def temporal_run(pretrained_vae, tmp_path_factory):
    """Step 2 (configs/vae_temporal_tiny_shapes.py), shrunk: 3 iterations through the Runner,
    the GAN from iteration 1 on; validation and a checkpoint after the last."""
    work_dir = tmp_path_factory.mktemp('vae_temporal')
    options = dict(SMALL_DATA, **{
        'model.vae.folder': pretrained_vae,
        'model.discriminator.base_channels': 8,
        'train_dataloader.dataset.num_frames': 4,
        'model.disc_start_iter': 1,
        'train_cfg.max_iters': 3,
        'train_cfg.val_interval': 3,
        'default_hooks.checkpoint.interval': 3,
    })
    cfg = load_config(TEMPORAL, options, work_dir=str(work_dir))
    runner = build_runner(cfg)
    runner.train()
    runner.model.eval()
    return runner, cfg, work_dir


LATENTS = torch.randn(2 * 4, 4, 8, 8, generator=torch.Generator().manual_seed(0))


def test_only_temporal_layers_change_and_both_optimisers_step(temporal_run, pretrained_vae):
    runner, cfg, _ = temporal_run
    # the generator stepped every iteration, the discriminator from disc_start_iter on
    wrappers = runner.optim_wrapper
    assert isinstance(wrappers, OptimWrapperDict)
    assert set(wrappers.keys()) == {'generator', 'discriminator'}
    for name, steps in (('generator', 3), ('discriminator', 2)):
        state = wrappers[name].optimizer.state
        assert state and all(int(s['step']) == steps for s in state.values()), name
    # every non-temporal weight is the pretrained VAE's, bit for bit
    vae = runner.model.vae
    start = AutoencoderKL.from_pretrained(pretrained_vae, temporal_conv=cfg.model.vae.temporal_conv)
    trained, initial = vae.state_dict(), start.state_dict()
    assert trained.keys() == initial.keys()
    for key, value in initial.items():
        if not is_temporal_key(key):
            assert torch.equal(trained[key], value), f'{key} changed'
    assert any(not torch.equal(trained[k], initial[k]) for k in initial if is_temporal_key(k))
    assert {n for n, p in vae.named_parameters() if p.requires_grad} == {
        n for n, _ in vae.temporal_parameters()}


def test_export_hook_writes_a_folder_that_decodes_like_the_trained_model(temporal_run):
    runner, cfg, work_dir = temporal_run
    folder = work_dir / 'vae_finetuned'
    config = json.load(open(folder / 'config.json'))
    assert config['_class_name'] == 'TemporalAutoencoderKL' and config['add_temp_conv']
    assert not [n for n in os.listdir(work_dir) if n.startswith('.vae_finetuned')]
    exported = AutoencoderKL.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        ours = runner.model.vae.decode(LATENTS, num_frames=4)
        assert torch.equal(exported.decode(LATENTS, num_frames=4), ours)
        assert not torch.equal(exported.decode(LATENTS, num_frames=1), ours)

    # the checkpoint holds the trainable weights and both optimisers and loads weights-only;
    # tools/export_vae.py's path (model from the config + checkpoint) writes the same VAE
    ckpt = torch.load(work_dir / 'iter_3.pth', weights_only=True)
    assert all(is_temporal_key(k) or k.startswith('discriminator.') for k in ckpt['state_dict'])
    assert set(ckpt['optimizer']) == {'generator', 'discriminator'}
    rebuilt = MODELS.build(cfg.model)
    export_vae_from_checkpoint(rebuilt, str(work_dir / 'iter_3.pth'), str(work_dir / 'tool'))
    again = AutoencoderKL.from_pretrained(str(work_dir / 'tool')).eval()
    with torch.no_grad():
        assert torch.equal(again.decode(LATENTS, num_frames=4), ours)


def test_validation_reports_reconstruction_metrics_side_by_side(temporal_run):
    runner, _, work_dir = temporal_run
    scalars = runner.message_hub.log_scalars
    assert {'val/recon/PSNR', 'val/recon/SSIM', 'val/recon/temporal_diff_l1'} <= set(scalars)
    gifs = sorted((work_dir / 'videos' / 'val_iter3').glob('*.gif'))
    assert len(gifs) == 2
    from PIL import Image
    with Image.open(gifs[0]) as image:  # input | reconstruction, two 16x16 videos
        assert image.size == (32, 16) and image.n_frames == 4


def test_generation_decodes_with_the_exported_vae_by_one_line(temporal_run, tmp_path):
    """A VidRD config takes the export with vae=dict(type='PretrainedAutoencoderKL', folder=...)
    and the generation API decodes through its Temp-Convs (untrained U-Net: mechanics only)."""
    from vidrd.apis import generate_long_video, load_generation_model
    _, _, work_dir = temporal_run
    folder = str(work_dir / 'vae_finetuned')
    options = {'model.vae': dict(_delete_=True, type='PretrainedAutoencoderKL', folder=folder),
               'model.unet.in_channels': 4, 'model.unet.out_channels': 4,
               'model.unet.block_out_channels': (32, 32),
               'model.unet.num_attention_heads': (2, 2), 'model.unet.cross_attention_dim': 32,
               'model.text_encoder.config.hidden_size': 32,
               'model.text_encoder.config.intermediate_size': 64}
    model = load_generation_model(osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py'),
                                  cfg_options=options)
    assert model.vae.has_temporal_layers
    calls = []
    decode = model.vae.decode
    model.vae.decode = lambda z, num_frames=1: calls.append(num_frames) or decode(z, num_frames)
    sampler = dict(type='ReuseAndDiffuseSampler', num_frames=4, num_prompt_frames=0,
                   num_inference_steps=2, guidance_scale=1.0, strategies=[], progress=False)
    (video,) = generate_long_video(model, ['a red circle moving left'], sampler_cfg=sampler,
                                   out_dir=str(tmp_path), formats=('gif',), resolution=(16, 16))
    assert calls == [4] and osp.isfile(video.files['gif'])


def test_export_replaces_a_previous_export_whole(tmp_path):
    class Exporter(nn.Module):
        def __init__(self, text):
            super().__init__()
            self.text = text

        def export(self, folder, **kwargs):
            os.makedirs(folder)
            with open(osp.join(folder, 'config.json'), 'w') as f:
                f.write(self.text)

    export_vae_atomically(Exporter('old'), str(tmp_path / 'vae_finetuned'))
    (tmp_path / 'vae_finetuned' / 'stale.bin').write_text('x')
    export_vae_atomically(Exporter('new'), str(tmp_path / 'vae_finetuned'))
    assert os.listdir(tmp_path) == ['vae_finetuned']
    assert sorted(os.listdir(tmp_path / 'vae_finetuned')) == ['config.json']
    assert (tmp_path / 'vae_finetuned' / 'config.json').read_text() == 'new'

    class Broken(Exporter):
        def export(self, folder, **kwargs):
            os.makedirs(folder)
            raise RuntimeError('disk full')

    with pytest.raises(RuntimeError, match='disk full'):
        export_vae_atomically(Broken('x'), str(tmp_path / 'vae_finetuned'))
    assert os.listdir(tmp_path) == ['vae_finetuned']  # the previous export is intact
    assert (tmp_path / 'vae_finetuned' / 'config.json').read_text() == 'new'
    with pytest.raises(TypeError, match='export'):
        export_vae_atomically(nn.Linear(1, 1), str(tmp_path / 'other'))


class TwoNetworks(nn.Module):
    def __init__(self, with_discriminator=True):
        super().__init__()
        self.generator = nn.Linear(2, 2)
        self.discriminator = nn.Linear(2, 1) if with_discriminator else None

    def parameters_to_optimize(self):
        groups = {'generator': list(self.generator.parameters())}
        if self.discriminator is not None:
            groups['discriminator'] = list(self.discriminator.parameters())
        return groups


def test_constructor_builds_one_wrapper_per_group_and_shares_amp(tmp_path):
    # --amp on this CPU switches optim_wrapper.type; both groups get it
    cfg = load_config(TEMPORAL, work_dir=str(tmp_path), amp='bf16')
    wrapper_cfg = cfg.optim_wrapper.to_dict()
    wrapper_cfg.pop('constructor')
    expected = 'AmpOptimWrapper' if torch.cuda.is_available() else 'AutocastOptimWrapper'
    assert wrapper_cfg['type'] == expected
    if torch.cuda.is_available():
        return
    model = TwoNetworks()
    wrappers = GeneratorDiscriminatorOptimWrapperConstructor(wrapper_cfg)(model)
    assert set(wrappers.keys()) == {'generator', 'discriminator'}
    for name, lr in (('generator', 1e-3), ('discriminator', 2e-4)):
        assert isinstance(wrappers[name], AutocastOptimWrapper)
        assert wrappers[name].dtype == torch.bfloat16
        assert isinstance(wrappers[name].optimizer, torch.optim.Adam)
        assert wrappers[name].optimizer.param_groups[0]['lr'] == lr
    for name in ('generator', 'discriminator'):
        params = wrappers[name].optimizer.param_groups[0]['params']
        assert [id(p) for p in params] == [id(p) for p in getattr(model, name).parameters()]

    # a group's own settings override the shared ones
    plain = GeneratorDiscriminatorOptimWrapperConstructor(dict(
        type='AutocastOptimWrapper', clip_grad=dict(max_norm=1.0),
        generator=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
        discriminator=dict(optimizer=dict(type='SGD', lr=0.2))))(model)
    assert type(plain['generator']) is OptimWrapper
    assert isinstance(plain['discriminator'], AutocastOptimWrapper)
    assert plain['discriminator'].clip_grad_kwargs == dict(max_norm=1.0)

    # a model without a discriminator: its config entry is skipped
    only_g = GeneratorDiscriminatorOptimWrapperConstructor(dict(
        generator=dict(optimizer=dict(type='SGD', lr=0.1)),
        discriminator=dict(optimizer=dict(type='SGD', lr=0.2))))(TwoNetworks(False))
    assert list(only_g.keys()) == ['generator']


def test_constructor_errors_name_what_to_fix():
    build = GeneratorDiscriminatorOptimWrapperConstructor
    with pytest.raises(KeyError, match='discriminator'):
        build(dict(generator=dict(optimizer=dict(type='SGD', lr=0.1))))(TwoNetworks())
    with pytest.raises(ValueError, match='optim_wrapper.generator.optimizer'):
        build(dict(optimizer=dict(type='SGD', lr=0.1)))
    with pytest.raises(ValueError, match='discrimnator has no optimizer'):
        build(dict(generator=dict(optimizer=dict(type='SGD', lr=0.1)),
                   discrimnator=dict(lr=0.1)))
    with pytest.raises(ValueError, match='paramwise_cfg'):
        build(dict(generator=dict(optimizer=dict(type='SGD', lr=0.1))),
              paramwise_cfg=dict(norm_decay_mult=0.0))
    with pytest.raises(TypeError, match='parameters_to_optimize'):
        build(dict(generator=dict(optimizer=dict(type='SGD', lr=0.1))))(nn.Linear(1, 1))


def test_sd21_config_stops_at_once_naming_the_missing_paths(tmp_path):
    cfg = load_config(SD21, work_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        check_paths(cfg, sections=('model', 'train_dataloader'))
    message = str(err.value)
    for expected in ('model.vae.folder', 'data/stable-diffusion-2-1-base/vae',
                     'train_dataloader.dataset.data_root', 'data/ucf101'):
        assert expected in message
    result = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'train.py'), SD21,
                             '--work-dir', str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0
    assert 'data/stable-diffusion-2-1-base/vae' in result.stderr
    assert not (tmp_path / 'vae_finetuned').exists()


def test_sd21_config_names_missing_lpips_weights(reference_dir, tmp_path):
    """With a VAE present, the LPIPS files are what is missing; the error says which."""
    cfg = load_config(SD21, {'model.vae.folder': osp.join(reference_dir, 'sd21_tiny', 'vae')},
                      work_dir=str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match='data/lpips/vgg.pth'):
        MODELS.build(cfg.model)


def test_sd21_config_trains_and_exports_the_release_layout(reference_dir, tmp_path):
    """The real config's model, optimisers and hooks, on the fixture's tiny SD-shaped VAE and
    moving-shapes clips instead of SD-2.1 and UCF-101 (no LPIPS files here)."""
    shapes = dict(batch_size=1, num_workers=0, persistent_workers=False,
                  sampler=dict(type='InfiniteSampler', shuffle=False),
                  collate_fn=dict(type='default_collate'),
                  dataset=dict(type='MovingShapesDataset', num_frames=3, size=16, num_samples=2,
                               pipeline=[dict(type='NormalizeVideo'),
                                         dict(type='PackVideoInputs')]))
    options = {
        'model.vae.folder': osp.join(reference_dir, 'sd21_tiny', 'vae'),
        'model.perceptual_loss': None,
        'model.discriminator.base_channels': 8,
        'model.discriminator.num_layers': 1,  # 16x16 frames
        'model.disc_start_iter': 0,
        'train_dataloader': dict(shapes, _delete_=True),
        'val_dataloader': dict(shapes, _delete_=True,
                               sampler=dict(type='DefaultSampler', shuffle=False)),
        'train_cfg.max_iters': 1,
        'train_cfg.val_interval': 1,
        'default_hooks.checkpoint.interval': 100,
        'default_hooks.logger.interval': 1,
        'log_level': 'WARNING',
    }
    cfg = load_config(SD21, options, work_dir=str(tmp_path))
    runner = build_runner(cfg)
    runner.train()
    for name in ('generator', 'discriminator'):
        assert all(int(s['step']) == 1 for s in runner.optim_wrapper[name].optimizer.state.values())
    release = osp.join(reference_dir, 'vae_finetuned_tiny')
    ours = json.load(open(tmp_path / 'vae_finetuned' / 'config.json'))
    theirs = json.load(open(osp.join(release, 'config.json')))
    theirs.pop('_diffusers_version')
    assert ours == theirs
    from safetensors.torch import load_file
    assert load_file(str(tmp_path / 'vae_finetuned' / 'diffusion_pytorch_model.safetensors')
                     ).keys() == load_file(osp.join(release, 'diffusion_pytorch_model.safetensors')
                                           ).keys()

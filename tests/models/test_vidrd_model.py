"""The VidRD model: diffusion loss, trainable subset, frozen parts."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub

from vidrd.registry import DATASETS, MODELS

CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'vidrd_tiny_shapes.py')


def _tiny(options, **model_overrides):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(options)
    for key, value in model_overrides.items():
        cfg.model[key] = value  # replace, not merge
    return cfg


def _batch(cfg, n=2):
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    items = [dataset[k] for k in range(n)]
    return dict(inputs=torch.stack([i['inputs'] for i in items]),
                data_samples=[i['data_samples'] for i in items])


def test_loss_decreases_and_only_the_trainable_subset_changes(tiny_config_options):
    torch.manual_seed(0)
    vae = dict(type='AutoencoderKL', block_out_channels=(32,), latent_channels=4,
               norm_num_groups=32, sample_size=16)
    cfg = _tiny(tiny_config_options, vae=vae, trainable=('temporal', 'transformer_blocks'),
                caption_dropout=0.0)
    cfg.model.unet.update(in_channels=4, out_channels=4)
    model = MODELS.build(cfg.model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith('unet.') for n in trainable)
    assert all('temp_' in n or '.transformer_blocks.' in n for n in trainable)
    assert any('.resnets.' in n for n, _ in model.named_parameters())

    data = model.data_preprocessor(_batch(cfg), True)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    MessageHub.get_current_instance().update_info('iter', 0)  # the same draws at every step
    losses = []
    model.train()
    for _ in range(10):
        loss = model(**data, mode='loss')['loss_diffusion']
        optimizer.zero_grad()
        loss.backward()
        for name, p in model.named_parameters():
            assert (p.grad is not None) == (name in trainable), name
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
    assert not model.vae.training and not model.text_encoder.training
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and changed <= trainable
    for key in before:
        if key not in trainable:
            assert torch.equal(before[key], after[key]), key


def test_draws_depend_on_sample_not_on_batch(tiny_config_options):
    """Noise / timesteps of a sample are keyed by its dataset index: a batch of 2 gives the
    same per-sample losses as two batches of 1 (what makes DDP match one process)."""
    cfg = _tiny(tiny_config_options, caption_dropout=0.5)
    model = MODELS.build(cfg.model).eval()
    data = model.data_preprocessor(_batch(cfg), True)
    MessageHub.get_current_instance().update_info('iter', 3)
    generators = model._sample_generators(data['data_samples'])
    single = [model._sample_generators([s])[0] for s in data['data_samples']]
    for a, b in zip(generators, single):
        assert torch.equal(torch.randn(5, generator=a), torch.randn(5, generator=b))
    ids = [s.metainfo['sample_idx'] for s in data['data_samples']]
    assert len(set(ids)) == len(ids)


def test_predict_generates_videos_in_range(tiny_config_options):
    cfg = _tiny(tiny_config_options)
    model = MODELS.build(cfg.model).eval()
    data = model.data_preprocessor(_batch(cfg), False)
    samples = model(**data, mode='predict')
    assert samples[0].video.shape == (3, 4, 16, 16)
    assert samples[0].video.abs().max() <= 1
    assert samples[0].gt_video.shape == (3, 4, 16, 16)
    again = model(**data, mode='predict')
    assert torch.equal(samples[0].video, again[0].video)  # seeded


def test_bad_settings_are_refused(tiny_config_options):
    cfg = _tiny(tiny_config_options, trainable=('temporal', 'everything'))
    with pytest.raises(ValueError, match='everything'):
        MODELS.build(cfg.model)
    cfg = _tiny(tiny_config_options)
    cfg.model.sampling_scheduler['prediction_type'] = 'epsilon'
    with pytest.raises(ValueError, match='prediction_type'):
        MODELS.build(cfg.model)


def test_frozen_parts_in_bf16_keep_float32_outputs_close(tiny_config_options):
    """``frozen_dtype='bfloat16'`` halves the frozen VAE / text encoder; the loss and the
    latents stay float32 and near the float32 model's (only the frozen parts' rounding moves)."""
    kl_vae = dict(type='AutoencoderKL', block_out_channels=(8, 16), layers_per_block=1,
                  down_block_types=('DownEncoderBlock2D',) * 2, norm_num_groups=4,
                  up_block_types=('UpDecoderBlock2D',) * 2, latent_channels=4)
    options = dict(tiny_config_options, **{'model.unet.in_channels': 4,
                                           'model.unet.out_channels': 4})
    cfg = _tiny(options, vae=kl_vae)
    torch.manual_seed(0)
    full = MODELS.build(cfg.model).eval()
    half = MODELS.build(dict(cfg.model, frozen_dtype='bfloat16')).eval()
    half.load_state_dict(full.state_dict())
    assert next(half.vae.parameters()).dtype == torch.bfloat16
    assert next(half.text_encoder.parameters()).dtype == torch.bfloat16
    assert next(half.unet.parameters()).dtype == torch.float32
    data = full.data_preprocessor(_batch(cfg), True)
    MessageHub.get_current_instance().update_info('iter', 0)
    a = full(**data, mode='loss')['loss_diffusion']
    b = half(**data, mode='loss')['loss_diffusion']
    assert b.dtype == torch.float32 and torch.isclose(a, b, rtol=0.05)
    video = half.generate(['a red circle'], resolution=(16, 16))
    assert video.dtype == torch.float32 and video.shape == (1, 3, 4, 16, 16)

"""Every long-video sampler behind one call: the configs of configs/long_video build, and the
tiny VidRD model generates with each of them, a storyline included, as many frames as their
layout says, piece by piece."""
import glob
import os.path as osp

import pytest
import torch

from vidrd.apis.generate import build_sampler, load_generation_model
from vidrd.apis.long_video_ablation import load_sampler_configs
from vidrd.models.long_video import LongVideoSampler, encode_storyline

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
LONG_VIDEO = osp.join(REPO, 'configs', 'long_video')
TINY = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')


@pytest.mark.parametrize('folder', [LONG_VIDEO, osp.join(LONG_VIDEO, 'tiny_shapes')])
def test_every_config_builds_a_sampler(folder):
    configs = load_sampler_configs(folder)
    names = {osp.splitext(osp.basename(p))[0] for p in glob.glob(osp.join(folder, '*.py'))}
    assert set(configs) == names == {'temporal_co_denoising', 'fifo_diffusion',
                                     'reconstruction_guidance'}
    for cfg in configs.values():
        assert isinstance(build_sampler(cfg), LongVideoSampler)


@pytest.fixture(scope='module')
def model(tiny_training_options):
    options = {k: v for k, v in tiny_training_options.items() if k.startswith('model.')}
    return load_generation_model(TINY, cfg_options=options)


def _tiny(cfg, frames):
    """A config of configs/long_video/tiny_shapes at the tiny test model's size."""
    cfg = dict(cfg, num_frames=frames)
    if cfg['type'] == 'FIFODiffusionSampler':
        return dict(cfg, num_inference_steps=3)
    cfg['num_inference_steps'] = 2
    if cfg.get('num_prompt_frames'):
        cfg['num_prompt_frames'] = frames // 2
    return cfg


@pytest.mark.parametrize('name', ['temporal_co_denoising', 'fifo_diffusion',
                                  'reconstruction_guidance'])
def test_the_model_generates_with_every_method(model, name):
    frames = model.num_frames
    sampler = build_sampler(_tiny(load_sampler_configs(
        osp.join(LONG_VIDEO, 'tiny_shapes'))[name], frames))
    video = model.generate(['a red circle moving left', 'a blue square moving up'],
                           num_clips=3, seed=0, sampler=sampler)
    assert video.shape[:3] == (2, 3, sampler.layout(3).num_frames)
    assert video.abs().max() <= 1

    # a storyline: one prompt per clip, and the sink gets the video piece by piece
    cond, uncond = encode_storyline(model.text_encoder, [
        'a red circle moving left', 'a red circle moving up', 'a red circle moving right'])
    pieces = []
    sampler.sample(model.unet, model.sampling_scheduler, cond, uncond,
                   latent_shape=(model.vae.config['latent_channels'], 4, 4), seed=0,
                   sink=pieces.append, decode_fn=model.vae.decode_video)
    assert [p.index for p in pieces] == [0, 1, 2]
    assert sum(p.video.shape[2] for p in pieces) == sampler.layout(3).num_frames
    assert all(torch.isfinite(p.latents).all() for p in pieces)


def test_a_type_that_is_no_sampler_is_refused():
    with pytest.raises(TypeError, match='not a long-video sampler'):
        build_sampler(dict(type='PixelShuffleAutoencoder', factor=2))

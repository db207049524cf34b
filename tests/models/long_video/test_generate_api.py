"""vidrd.apis.generate (the logic of tools/generate.py) and configs/ablations/.

(Kept next to the sampler's tests; it tests ``vidrd/apis/generate.py``.)"""
import os.path as osp
import runpy
import sys

import pytest
import torch
from mmengine.config import Config
from PIL import Image

from vidrd.apis import (generate_long_video, load_generation_config, load_generation_model,
                        read_prompt_file)
from vidrd.datasets.video_io import read_video
from vidrd.models.long_video import ReuseAndDiffuseSampler
from vidrd.registry import MODELS
from vidrd.utils.checkpoint import CheckpointMismatchError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
ABLATIONS = osp.join(REPO, 'configs', 'ablations')
TINY_MODEL = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')


class ToyVAE:
    spatial_compression = 2
    config = dict(latent_channels=4)

    def decode_video(self, latents):  # (B, 4, F, h, w) -> (B, 3, F, 2h, 2w) in [-1, 1]
        return torch.tanh(latents[:, :3]).repeat_interleave(2, -1).repeat_interleave(2, -2)


class ToyTextEncoder:
    def __init__(self):
        self.encoded = []

    def encode(self, prompts):
        self.encoded += list(prompts)
        return torch.stack([torch.full((3, 4), len(p) / 10.0) for p in prompts])


def _components(toy_unet, toy_scheduler):
    return dict(unet=toy_unet, vae=ToyVAE(), text_encoder=ToyTextEncoder(),
                scheduler=toy_scheduler)


SAMPLER = dict(type='ReuseAndDiffuseSampler', num_frames=4, num_prompt_frames=2,
               num_inference_steps=2, guidance_scale=3.0, progress=False,
               strategies=[dict(type='FrameNoiseReversion'),
                           dict(type='StagedGuidanceDenoising', beta=0.5)])


def test_writes_mp4_gif_and_png_per_prompt(tmp_path, toy_unet, toy_scheduler):
    results = generate_long_video(_components(toy_unet, toy_scheduler),
                                  ['a red circle', 'a blue square!'], num_clips=3, seed=1,
                                  sampler_cfg=SAMPLER, out_dir=str(tmp_path), png_frames=True,
                                  resolution=(8, 12))
    assert [osp.basename(r.files['mp4']) for r in results] == ['000_a_red_circle.mp4',
                                                               '001_a_blue_square.mp4']
    for r in results:
        assert r.num_frames == 12
        frames, _ = read_video(r.files['mp4'])
        assert frames.shape == (12, 8, 12, 3)
        with Image.open(r.files['gif']) as gif:
            assert gif.n_frames == 12 and gif.size == (12, 8)
        assert len(list((tmp_path / osp.basename(r.files['png'])).glob('*.png'))) == 12


def test_storyline_is_one_video_and_encodes_each_prompt_once(tmp_path, toy_unet, toy_scheduler):
    parts = _components(toy_unet, toy_scheduler)
    story = ['a red circle', 'a red circle moving left', 'a red circle']
    (result,) = generate_long_video(parts, story, storyline=True, sampler_cfg=SAMPLER,
                                    out_dir=str(tmp_path), formats=('gif',), resolution=(8, 8))
    assert result.num_frames == 3 * 4 and set(result.files) == {'gif'}
    assert sorted(parts['text_encoder'].encoded) == ['', 'a red circle', 'a red circle moving left']
    with pytest.raises(ValueError, match='storyline of 3 prompts but num_clips=2'):
        generate_long_video(parts, story, storyline=True, num_clips=2, sampler_cfg=SAMPLER,
                            out_dir=str(tmp_path), resolution=(8, 8))


def test_read_prompt_file(tmp_path):
    path = tmp_path / 'prompts.txt'
    path.write_text('# my prompts\na red circle\n\n  a blue square  \n')
    assert read_prompt_file(str(path)) == ['a red circle', 'a blue square']
    with pytest.raises(FileNotFoundError, match='prompt file not found'):
        read_prompt_file(str(tmp_path / 'none.txt'))


@pytest.mark.parametrize('name,types', [
    ('vidrd_full', ['FrameNoiseReversion', 'PastDependentNoiseSampling',
                    'StagedGuidanceDenoising']),
    ('no_fnr', ['PastDependentNoiseSampling', 'StagedGuidanceDenoising']),
    ('no_pns', ['FrameNoiseReversion', 'StagedGuidanceDenoising']),
    ('no_dsg', ['FrameNoiseReversion', 'PastDependentNoiseSampling']),
    ('independent_clips', ['IndependentClips']),
])
def test_ablation_configs_build(name, types):
    cfg = Config.fromfile(osp.join(ABLATIONS, f'{name}.py'))
    sampler = MODELS.build(cfg.long_video_sampler)
    assert isinstance(sampler, ReuseAndDiffuseSampler)
    assert [type(s).__name__ for s in sampler.strategies] == types
    full = Config.fromfile(osp.join(ABLATIONS, 'vidrd_full.py')).long_video_sampler
    # one change per ablation (N, M, steps and guidance stay the model's: overlays)
    for key in ('num_frames', 'num_prompt_frames', 'num_inference_steps', 'guidance_scale'):
        assert cfg.long_video_sampler.get(key) == full.get(key)


def test_sampler_config_merges_into_model_config():
    cfg = load_generation_config(TINY_MODEL, osp.join(ABLATIONS, 'no_dsg.py'),
                                 {'model.long_video_sampler.num_frames': 6})
    sampler = cfg.model.long_video_sampler
    assert [s['type'] for s in sampler.strategies] == ['FrameNoiseReversion',
                                                       'PastDependentNoiseSampling']
    assert sampler.num_frames == 6 and sampler.progress is False  # option; kept model key


def test_checkpoint_loading(tmp_path):
    cfg = load_generation_config(TINY_MODEL)
    model = load_generation_model(cfg)
    path = str(tmp_path / 'trained.pth')
    state = {k: v + 1 for k, v in model.trainable_state_dict().items()}
    torch.save({'state_dict': state}, path)
    loaded = load_generation_model(cfg, path)
    name = next(iter(state))
    assert torch.equal(dict(loaded.named_parameters())[name], state[name])
    torch.save({'state_dict': dict(state, **{'unet.no_such_layer.weight': torch.zeros(1)})}, path)
    with pytest.raises(CheckpointMismatchError, match='no_such_layer'):
        load_generation_model(cfg, path)


@pytest.mark.slow
def test_generate_tool_end_to_end(tmp_path, monkeypatch):
    """A storyline of two clips through the full method, the U-Net in bf16 (--amp)."""
    story = tmp_path / 'story.txt'
    story.write_text('a red circle moving left\na red circle moving up\n')
    monkeypatch.setattr(sys, 'argv', [
        'generate.py', TINY_MODEL, '--storyline', str(story), '--seed', '3',
        '--out-dir', str(tmp_path / 'out'), '--resolution', '12', '12', '--formats', 'gif',
        '--sampler-config', osp.join(ABLATIONS, 'vidrd_full.py'), '--cfg-options',
        'model.long_video_sampler.num_frames=3', 'model.long_video_sampler.num_prompt_frames=1',
        'model.long_video_sampler.num_inference_steps=2', '--amp'])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runpy.run_path(osp.join(REPO, 'tools', 'generate.py'), run_name='__main__')
    finally:
        torch.set_num_threads(threads)
    (gif,) = (tmp_path / 'out').glob('*.gif')
    with Image.open(gif) as image:
        assert image.n_frames == 6


def test_without_num_clips_a_model_generates_its_configured_clips(tmp_path, toy_unet,
                                                                   toy_scheduler):
    """tools/generate.py without --num-clips: the config's model.num_clips, not 1."""
    components = dict(_components(toy_unet, toy_scheduler), num_clips=3)
    sampler = dict(SAMPLER, strategies=[])
    (video,) = generate_long_video(components, 'a red circle', sampler_cfg=sampler,
                                   out_dir=str(tmp_path), formats=('gif',), resolution=(8, 8))
    assert video.num_frames == 3 * SAMPLER['num_frames']
    (video,) = generate_long_video(components, 'a red circle', num_clips=1, sampler_cfg=sampler,
                                   out_dir=str(tmp_path), formats=('gif',), resolution=(8, 8))
    assert video.num_frames == SAMPLER['num_frames']
    from vidrd.utils.cli import InvalidValueError
    with pytest.raises(InvalidValueError, match='num_clips must be >= 1'):
        generate_long_video(components, 'a red circle', num_clips=0, sampler_cfg=sampler,
                            out_dir=str(tmp_path))
    with pytest.raises(InvalidValueError, match='multiple of the VAE'):
        generate_long_video(components, 'a red circle', sampler_cfg=sampler,
                            out_dir=str(tmp_path), resolution=(7, 8))


@pytest.mark.parametrize('tool', ['generate.py', 'test.py'])
def test_amp_flag_of_the_sampling_tools_sets_the_models_sampler_autocast(tool, monkeypatch):
    from vidrd.apis.run_config import with_sampling_amp
    monkeypatch.setattr(sys, 'argv', [tool, TINY_MODEL, '--amp'])
    args = runpy.run_path(osp.join(REPO, 'tools', tool))['parse_args']()
    options = with_sampling_amp({'model.long_video_sampler.num_inference_steps': 3}, args.amp)
    model = MODELS.build(load_generation_config(TINY_MODEL, cfg_options=options).model)
    assert model.sampler.autocast_dtype == torch.bfloat16
    # the config's other sampler entries stay
    assert (model.sampler.num_inference_steps, model.sampler.guidance_scale) == (3, 1.5)
    assert with_sampling_amp(None, None) is None


def test_a_partial_sampler_config_fills_the_rest_from_the_default():
    """A model config without ``long_video_sampler`` given only ``--amp``'s entry."""
    cfg = Config.fromfile(TINY_MODEL)
    cfg.model.long_video_sampler = dict(autocast_dtype='bf16')
    model = MODELS.build(cfg.model)
    assert isinstance(model.sampler, ReuseAndDiffuseSampler)
    assert model.sampler.num_frames == cfg.model.num_frames
    assert model.sampler.autocast_dtype == torch.bfloat16

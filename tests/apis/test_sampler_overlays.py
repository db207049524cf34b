"""Sampler configs are overlays (--sampler-config): they set the sampler, its strategies and their
parameters, and keep the model's N, M, steps and guidance unless they name them; a file naming
another sampler type replaces the model's sampler but keeps those of the model's values the new
type accepts. Configs are only merged and samplers built: no weights are needed."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from vidrd.apis import load_generation_config
from vidrd.apis.sampler_overlay import accepted_arguments, overlay_sampler
from vidrd.models.long_video import LongVideoSampler
from vidrd.registry import MODELS
from vidrd.utils.cli import UserError, user_error_message

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ZEROSCOPE = osp.join(REPO, 'configs', 'zeroscope_v2.py')
SD21 = osp.join(REPO, 'configs', 'vidrd_sd21_ucf.py')
RELEASED = osp.join(REPO, 'configs', 'vidrd_released.py')
ABLATIONS = osp.join(REPO, 'configs', 'ablations')
LONG_VIDEO = osp.join(REPO, 'configs', 'long_video')
#: the SD-size sampler configs (tiny_shapes/ holds complete ones for the demo)
OVERLAYS = sorted(glob.glob(osp.join(ABLATIONS, '*.py')) + glob.glob(osp.join(LONG_VIDEO, '*.py')))
SETTINGS = ('num_frames', 'num_prompt_frames', 'num_inference_steps', 'guidance_scale')


def _sampler(config, overlay, options=None):
    return load_generation_config(config, overlay, options).model.long_video_sampler


def test_zeroscope_keeps_its_24_frames_12_prompt_frames_and_guidance_9():
    sampler = _sampler(ZEROSCOPE, osp.join(ABLATIONS, 'vidrd_full.py'))
    assert (sampler.num_frames, sampler.num_prompt_frames, sampler.guidance_scale,
            sampler.num_inference_steps) == (24, 12, 9.0, 50)
    assert [s['type'] for s in sampler.strategies] == [
        'FrameNoiseReversion', 'PastDependentNoiseSampling', 'StagedGuidanceDenoising']
    built = MODELS.build(sampler.to_dict())
    assert (built.num_frames, built.num_prompt_frames, built.guidance_scale) == (24, 12, 9.0)
    # an ablation changes its strategies and nothing else
    no_dsg = _sampler(ZEROSCOPE, osp.join(ABLATIONS, 'no_dsg.py'))
    assert {k: no_dsg[k] for k in SETTINGS} == {k: sampler[k] for k in SETTINGS}
    assert [s['type'] for s in no_dsg.strategies] == ['FrameNoiseReversion',
                                                      'PastDependentNoiseSampling']


@pytest.mark.parametrize('path', OVERLAYS, ids=lambda p: osp.relpath(p, REPO))
def test_sd_size_sampler_configs_name_no_model_setting_they_need_not(path):
    """N, steps and guidance are the model's; reconstruction guidance keeps its M = N / 2."""
    sampler = Config.fromfile(path).long_video_sampler
    # FIFO-Diffusion's None: its steps follow from N x partitions, not the model's steps
    named = {k for k in ('num_frames', 'num_inference_steps', 'guidance_scale')
             if sampler.get(k) is not None}
    assert not named, f'{path} names {named}'
    if osp.basename(path) != 'reconstruction_guidance.py':
        assert 'num_prompt_frames' not in sampler


@pytest.mark.parametrize('config', [SD21, RELEASED, ZEROSCOPE], ids=osp.basename)
@pytest.mark.parametrize('path', OVERLAYS, ids=lambda p: osp.relpath(p, REPO))
def test_every_overlay_builds_over_every_model_with_the_models_settings(config, path):
    model = Config.fromfile(config).model
    sampler = _sampler(config, path)
    built = MODELS.build(dict(sampler.to_dict(), progress=False))
    assert isinstance(built, LongVideoSampler)
    assert built.num_frames == model.long_video_sampler.num_frames == model.num_frames
    assert built.guidance_scale == model.long_video_sampler.guidance_scale
    if sampler.get('num_inference_steps', 0) is not None:  # None: the sampler derives them
        assert 'num_inference_steps' in accepted_arguments(sampler.type)
        assert built.num_inference_steps == model.long_video_sampler.num_inference_steps


def test_another_type_replaces_the_sampler_and_keeps_the_models_accepted_settings():
    sampler = _sampler(ZEROSCOPE, osp.join(LONG_VIDEO, 'fifo_diffusion.py'))
    assert sampler.type == 'FIFODiffusionSampler'
    # the model's ReuseAndDiffuse-only keys are gone; N and guidance carried over; the file
    # names its steps (None: N x partitions, the authors' setting) so the model's 50 stay out
    assert 'strategies' not in sampler and 'num_prompt_frames' not in sampler
    assert sampler.num_inference_steps is None
    assert (sampler.num_frames, sampler.guidance_scale) == (24, 9.0)
    built = MODELS.build(sampler.to_dict())
    assert (built.num_frames, built.num_inference_steps) == (24, 24 * 4)
    # a type whose constructor lacks a key gets none: a model's strategies never reach FIFO,
    # and a model setting the new type does not take is left out
    assert 'num_prompt_frames' not in accepted_arguments('FIFODiffusionSampler')

    co = _sampler(ZEROSCOPE, osp.join(LONG_VIDEO, 'temporal_co_denoising.py'))
    assert (co.type, co.num_frames, co.num_inference_steps, co.guidance_scale) == (
        'TemporalCoDenoisingSampler', 24, 50, 9.0)


def test_what_an_overlay_names_wins_and_options_come_last(tmp_path):
    overlay = tmp_path / 'eight.py'
    overlay.write_text("long_video_sampler = dict(type='FIFODiffusionSampler', num_frames=8, "
                       "num_partitions=2)\n")
    sampler = _sampler(ZEROSCOPE, str(overlay), {'model.long_video_sampler.guidance_scale': 5})
    assert (sampler.num_frames, sampler.num_partitions, sampler.guidance_scale) == (8, 2, 5)


def test_a_model_without_its_own_sampler_lends_its_clip_length():
    merged = overlay_sampler(dict(num_frames=12), dict(type='FIFODiffusionSampler'))
    assert merged == dict(type='FIFODiffusionSampler', num_frames=12)
    # a typeless model sampler is VidRD's default ReuseAndDiffuseSampler
    merged = overlay_sampler(dict(long_video_sampler=dict(num_frames=6, num_prompt_frames=3)),
                             dict(type='TemporalCoDenoisingSampler', stride=2))
    assert merged == dict(type='TemporalCoDenoisingSampler', stride=2, num_frames=6)


def test_a_file_without_a_sampler_is_a_one_line_user_error(tmp_path):
    empty = tmp_path / 'empty.py'
    empty.write_text('x = 1\n')
    with pytest.raises(UserError) as err:
        load_generation_config(ZEROSCOPE, str(empty))
    assert 'defines no long_video_sampler' in user_error_message(err.value)

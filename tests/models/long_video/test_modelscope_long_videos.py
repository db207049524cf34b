"""configs/modelscope_t2v.py on a tiny ModelScope-shaped pipeline folder: one clip equals
diffusers' TextToVideoSDPipeline, long videos keep the strategies' equations and flat memory."""
import gc
import os.path as osp

import pytest
import torch

from long_video_toys import live_tensor_bytes
from tiny_backbones import (check_strategy_invariants, first_clip_noise, model_options,
                            write_modelscope_folder)
from vidrd.apis.run_config import load_config
from vidrd.models.long_video import LongVideoStrategy, ReuseAndDiffuseSampler
from vidrd.registry import DIFFUSION_SCHEDULERS, MODELS

CONFIG = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', 'modelscope_t2v.py')
PROMPT = 'a red circle moving left'


def modelscope_options(folder: str) -> dict:
    return model_options(folder, **{
        'model.unet.folder': osp.join(folder, 'unet'),
        'model.noise_schedule.folder': osp.join(folder, 'scheduler'),
        'model.sampling_scheduler.folder': osp.join(folder, 'scheduler')})


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    return write_modelscope_folder(str(tmp_path_factory.mktemp('modelscope_t2v')))


@pytest.fixture(scope='module')
def model(folder):
    cfg = load_config(CONFIG, modelscope_options(folder))
    return MODELS.build(cfg.model).eval()


def test_text_encoder_is_the_pipelines_last_hidden_state(model, folder):
    """TextToVideoSDPipeline conditions on ``text_encoder(ids)[0]`` (last_hidden_state after
    the final LayerNorm of a folder that already ends at the penultimate OpenCLIP layer)."""
    from transformers import CLIPTextModel
    reference = CLIPTextModel.from_pretrained(osp.join(folder, 'text_encoder')).eval()
    ids = model.text_encoder.tokenize([PROMPT, ''])
    with torch.no_grad():
        expected = reference(ids)[0]
    torch.testing.assert_close(model.encode_text([PROMPT, '']), expected, atol=1e-6, rtol=0)


def test_one_clip_equals_text_to_video_pipeline(model, folder):
    from diffusers import (AutoencoderKL, DDIMScheduler, TextToVideoSDPipeline,
                           UNet3DConditionModel)
    pipe = TextToVideoSDPipeline(
        vae=AutoencoderKL.from_pretrained(osp.join(folder, 'vae')).eval(),
        text_encoder=None, tokenizer=None,
        unet=UNet3DConditionModel.from_pretrained(osp.join(folder, 'unet')).eval(),
        scheduler=DDIMScheduler.from_pretrained(osp.join(folder, 'scheduler')))
    pipe.set_progress_bar_config(disable=True)
    cond = model.encode_text([PROMPT])
    uncond = model.encode_text([''])
    common = dict(prompt_embeds=cond, negative_prompt_embeds=uncond, latents=first_clip_noise(),
                  num_frames=4, height=16, width=16, num_inference_steps=2, guidance_scale=3.0)
    with torch.no_grad():
        ref_latents = pipe(output_type='latent', **common).frames
        ref_video = pipe(output_type='pt', **common).frames  # (B, F, 3, H, W) in [0, 1]
    out = model.sampler.sample(model.unet, model.sampling_scheduler, cond, uncond,
                               latent_shape=(4, 8, 8), num_clips=1, seed=0,
                               decode_fn=model.vae.decode_video)
    latents = out.clip_latents[0]
    assert (latents - ref_latents).abs().max() <= 1e-4 * ref_latents.abs().max()
    video = model.generate([PROMPT], num_clips=1, seed=0)  # the same, through VidRD
    frames = (video / 2 + 0.5).clamp(0, 1).permute(0, 2, 1, 3, 4)
    assert frames.shape == ref_video.shape == (1, 4, 3, 16, 16)
    assert (frames - ref_video).abs().max() < 1e-3


def test_fnr_pns_dsg_equations_hold(model):
    video = check_strategy_invariants(model, num_clips=3)
    assert video.shape == (1, 3, 12, 16, 16)


@pytest.mark.parametrize('solver', ['DPMSolverMultistepScheduler', 'UniPCMultistepScheduler'])
def test_fnr_pns_dsg_equations_hold_with_multistep_solvers(model, folder, solver):
    """The same equations with the model's scheduler/ folder read by a multistep solver."""
    ddim = model.sampling_scheduler
    model.sampling_scheduler = DIFFUSION_SCHEDULERS.build(
        dict(type=f'Pretrained{solver}', folder=osp.join(folder, 'scheduler')))
    try:
        video = check_strategy_invariants(model, num_clips=3)
    finally:
        model.sampling_scheduler = ddim
    assert video.shape == (1, 3, 12, 16, 16)


class _PeakProbe(LongVideoStrategy):
    def __init__(self):
        self.peak = 0

    def before_step(self, ctx, clip_index, step_index, latents):
        self.peak = max(self.peak, live_tensor_bytes())
        return latents


def test_memory_is_flat_in_the_number_of_clips(model):
    """Bytes of all live tensors (weights included) at every step: the same for 2 and 4 clips."""
    peaks = []
    for clips in (2, 4):
        probe = _PeakProbe()
        sampler = ReuseAndDiffuseSampler(
            num_frames=4, num_prompt_frames=2, num_inference_steps=2, guidance_scale=3.0,
            progress=False, strategies=[
                dict(type='FrameNoiseReversion'), dict(type='PastDependentNoiseSampling'),
                dict(type='StagedGuidanceDenoising', beta=1.0), probe])
        gc.collect()
        with torch.no_grad():
            sampler.sample(model.unet, model.sampling_scheduler, *model.text_encoder.encode(
                [PROMPT, '']).split(1), latent_shape=(4, 8, 8), num_clips=clips, seed=0,
                decode_fn=model.vae.decode_video, sink=lambda clip: None)
        peaks.append(probe.peak)
    assert peaks[0] == peaks[1], peaks

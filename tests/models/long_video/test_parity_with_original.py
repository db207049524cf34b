"""Seed-compatible sampling reproduces the original release's long videos (reference fixtures).

The fixtures were made by the authors' code with FNR + PNS + DSG on the tiny original U-Net;
``default`` exercises PNS (alpha 4) and DSG (beta 0.4) with guidance 10, ``no_guidance`` FNR
alone (alpha 0, beta 0, guidance 1). Each of FNR / PNS / DSG, left out or read at the wrong
step, moves clip 1 by 15% to 130% of max|ref|, so these tolerances pin their semantics."""
import json
import os.path as osp

import pytest
import torch
from safetensors.torch import load_file

from vidrd.models.long_video import ReuseAndDiffuseSampler
from vidrd.models.schedulers import DDIMScheduler
from vidrd.models.unets import load_original_unet
from vidrd.models.vaes import AutoencoderKL


@pytest.fixture(scope='module')
def original(reference_dir):
    unet = load_original_unet(osp.join(reference_dir, 'vidrd_official_tiny.pth'),
                              unet_config=osp.join(reference_dir, 'sd21_tiny', 'unet')).eval()
    vae = AutoencoderKL.from_pretrained(osp.join(reference_dir, 'sd21_tiny', 'vae')).eval()
    with open(osp.join(reference_dir, 'manifest.json')) as f:
        cases = json.load(f)['cases']
    # tiny tensors: one thread is faster, and far faster on a shared, busy CPU
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield unet, vae, cases
    torch.set_num_threads(threads)


def decode_frame_by_frame(vae):
    """The fixture's decoding: the plain 2D VAE on each frame, mapped to [0, 1]."""
    def decode(latents):  # (B, C, F, h, w) -> (B, 3, F, H, W)
        frames = [vae.decode_video(latents[:, :, f:f + 1]) for f in range(latents.shape[2])]
        return (torch.cat(frames, dim=2) / 2 + 0.5).clamp(0, 1)
    return decode


@pytest.mark.parametrize('case', ['default', 'no_guidance'])
def test_seed_compatible_mode_reproduces_original_long_video(original, reference_dir, case):
    unet, vae, cases = original
    c = cases[case]
    ref = load_file(osp.join(reference_dir, f'longvideo_{case}.safetensors'))
    sampler = ReuseAndDiffuseSampler(
        num_frames=c['N'], num_prompt_frames=c['M'], num_inference_steps=c['steps'],
        guidance_scale=c['cfg'], seed_compatible=True, progress=False, strategies=[
            dict(type='FrameNoiseReversion'),
            dict(type='PastDependentNoiseSampling', alpha=c['alpha']),
            dict(type='StagedGuidanceDenoising', beta=c['beta'])])
    scheduler = DDIMScheduler.from_config_file(osp.join(reference_dir, 'sd21_tiny', 'scheduler'))
    _, _, _, h, w = ref['clip_latents'].shape[1:]
    out = sampler.sample(unet, scheduler, ref['prompt_embeds'], ref['negative_prompt_embeds'],
                         latent_shape=(4, h, w), num_clips=c['clips'], seed=c['seed'],
                         decode_fn=decode_frame_by_frame(vae))

    assert out.clip_latents.shape == ref['clip_latents'].shape
    for i in range(c['clips']):
        expected = ref['clip_latents'][i]
        err = (out.clip_latents[i] - expected).abs().max().item()
        assert err <= 1e-4 * expected.abs().max().item(), f'clip {i}: max error {err}'
    assert out.video.shape == ref['video'].shape
    torch.testing.assert_close(out.video, ref['video'], rtol=0, atol=1e-3)

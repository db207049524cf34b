"""Real AnimateDiff weights in the plugin: diffusers' MotionAdapter folders and the original
mm_sd_v15 .ckpt layout load into an SD-1.5-shaped U-Net that equals diffusers' UNetMotionModel;
one clip equals AnimateDiffPipeline; long videos keep the strategies' equations."""
import os.path as osp
import re
import sys

import pytest
import torch
from safetensors.torch import load_file

from tiny_backbones import (check_strategy_invariants, first_clip_noise, model_options,
                            write_sd15_folder)
from vidrd.apis.run_config import load_config
from vidrd.registry import MODELS
from vidrd.utils.checkpoint import CheckpointMismatchError

CONFIG = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                  'plugins', 'vidrd_animatediff', 'configs', 'animatediff_sd15.py')
PROMPT = 'a dog running'

#: diffusers' MotionAdapter names -> the original release's, written out independently of the
#: plugin's own map (inside transformer_blocks.K, then the temporal_transformer level)
TO_ORIGINAL = [('.attn1.', '.attention_blocks.0.'), ('.norm1.', '.norms.0.'),
               ('.attn2.', '.attention_blocks.1.'), ('.norm2.', '.norms.1.'),
               ('.norm3.', '.ff_norm.')]


def original_layout(adapter_state: dict) -> dict:
    """The adapter's tensors under mm_sd_v15*.ckpt keys, position tables included."""
    out = {}
    for key, value in adapter_state.items():
        if key.endswith('.pos_embed.pe'):
            block = key[:-len('.pos_embed.pe')]
            for a in (0, 1):
                original = re.sub(r'(motion_modules\.\d+)\.', r'\1.temporal_transformer.',
                                  f'{block}.attention_blocks.{a}.pos_encoder.pe')
                out[original] = value.clone()
            continue
        for ours, theirs in TO_ORIGINAL:
            key = key.replace(ours, theirs)
        out[re.sub(r'(motion_modules\.\d+)\.', r'\1.temporal_transformer.', key)] = value
    return out


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    return write_sd15_folder(str(tmp_path_factory.mktemp('sd15_animatediff')))


def _unet(folder, motion_module, **kwargs):
    import vidrd_animatediff  # noqa: F401  (registers AnimateDiffUNet)
    return MODELS.build(dict(type='AnimateDiffUNet', folder=osp.join(folder, 'unet'),
                             motion_module=motion_module, **kwargs)).eval()


@pytest.fixture(scope='module')
def model(folder, plugins_on_path):
    options = model_options(folder, **{
        'model.unet.folder': osp.join(folder, 'unet'),
        'model.unet.motion_module': osp.join(folder, 'motion_adapter')})
    return MODELS.build(load_config(CONFIG, options).model).eval()


def test_unet_equals_diffusers_unet_motion_model(folder, plugins_on_path):
    from diffusers import MotionAdapter, UNet2DConditionModel, UNetMotionModel
    reference = UNetMotionModel.from_unet2d(
        UNet2DConditionModel.from_pretrained(osp.join(folder, 'unet')),
        MotionAdapter.from_pretrained(osp.join(folder, 'motion_adapter'))).eval()
    ours = _unet(folder, osp.join(folder, 'motion_adapter'))
    g = torch.Generator().manual_seed(0)
    x, text = torch.randn(2, 4, 3, 8, 8, generator=g), torch.randn(2, 5, 32, generator=g)
    t = torch.tensor([20, 600])
    with torch.no_grad():  # diffusers' UNetMotionModel takes the text once per frame
        expected = reference(x, t, text.repeat_interleave(3, dim=0)).sample
        out = ours(x, t, text)
    # float32 rounding of a different summation order (fused GroupNorm over frames): 1e-5 of
    # the output's scale, as the other parity checks
    scale = expected.abs().max()
    assert (expected - out).abs().max() < 1e-5 * scale and scale > 0.1
    # a motion module after each layer of every block, ResNet-only ones included, and mid
    modules = [n for n, m in ours.named_modules() if type(m).__name__ == 'AnimateDiffMotionModule']
    assert len(modules) == 2 + 1 + 4


def test_original_ckpt_layout_loads_the_same_weights(folder, plugins_on_path, tmp_path):
    adapter = load_file(osp.join(folder, 'motion_adapter', 'diffusion_pytorch_model.safetensors'))
    ckpt = tmp_path / 'mm_sd_v15_v2.ckpt'
    torch.save(original_layout(adapter), str(ckpt))
    config = dict(motion_num_attention_heads=4, motion_norm_num_groups=8)
    from_ckpt = _unet(folder, str(ckpt), motion_module_config=config).state_dict()
    from_folder = _unet(folder, osp.join(folder, 'motion_adapter')).state_dict()
    assert from_ckpt.keys() == from_folder.keys()
    assert all(torch.equal(from_ckpt[k], from_folder[k]) for k in from_folder)
    # v1 checkpoints have no mid-block module: none is built
    v1 = {k: v for k, v in original_layout(adapter).items() if not k.startswith('mid_block.')}
    torch.save(v1, str(ckpt))
    assert not any('mid_block.temp_modules' in k
                   for k in _unet(folder, str(ckpt), motion_module_config=config).state_dict())


def test_missing_unexpected_and_learned_positions_are_named(folder, plugins_on_path, tmp_path):
    adapter = load_file(osp.join(folder, 'motion_adapter', 'diffusion_pytorch_model.safetensors'))
    config = dict(motion_num_attention_heads=4, motion_norm_num_groups=8)
    state = original_layout(adapter)
    del state['up_blocks.1.motion_modules.1.temporal_transformer.proj_out.weight']
    state['up_blocks.1.motion_modules.9.temporal_transformer.proj_out.weight'] = torch.zeros(1)
    state['lora.down.weight'] = torch.zeros(1)
    torch.save(state, str(tmp_path / 'bad.ckpt'))
    with pytest.raises(CheckpointMismatchError, match=r'lora\.down\.weight'):
        _unet(folder, str(tmp_path / 'bad.ckpt'), motion_module_config=config)
    del state['lora.down.weight']
    torch.save(state, str(tmp_path / 'bad.ckpt'))
    with pytest.raises(CheckpointMismatchError, match=r'(?s)missing.*up_blocks\.1\.temp_modules'
                       r'\.1\.proj_out\.weight.*unexpected.*temp_modules\.9\.proj_out'):
        _unet(folder, str(tmp_path / 'bad.ckpt'), motion_module_config=config)
    learned = original_layout(adapter)
    key = next(k for k in learned if k.endswith('pos_encoder.pe'))
    learned[key] = learned[key] + 0.5
    torch.save(learned, str(tmp_path / 'learned.ckpt'))
    with pytest.raises(ValueError, match=re.escape(key)):
        _unet(folder, str(tmp_path / 'learned.ckpt'), motion_module_config=config)


def test_one_clip_equals_animatediff_pipeline(model, folder):
    from diffusers import (AnimateDiffPipeline, AutoencoderKL, DDIMScheduler, MotionAdapter,
                           UNet2DConditionModel)
    pipe = AnimateDiffPipeline(
        vae=AutoencoderKL.from_pretrained(osp.join(folder, 'vae')).eval(),
        text_encoder=None, tokenizer=None,
        unet=UNet2DConditionModel.from_pretrained(osp.join(folder, 'unet')).eval(),
        motion_adapter=MotionAdapter.from_pretrained(osp.join(folder, 'motion_adapter')),
        scheduler=DDIMScheduler(beta_schedule='linear', beta_start=0.00085, beta_end=0.012,
                                clip_sample=False, set_alpha_to_one=False, steps_offset=1))
    pipe.unet.eval()
    pipe.set_progress_bar_config(disable=True)
    cond, uncond = model.encode_text([PROMPT]), model.encode_text([''])
    noise = first_clip_noise()
    common = dict(prompt_embeds=cond, negative_prompt_embeds=uncond, num_frames=4, height=16,
                  width=16, num_inference_steps=2, guidance_scale=3.0)
    with torch.no_grad():
        ref_latents = pipe(output_type='latent', latents=noise.clone(), **common).frames
        ref_video = pipe(output_type='pt', latents=noise.clone(), **common).frames
    out = model.sampler.sample(model.unet, model.sampling_scheduler, cond, uncond,
                               latent_shape=(4, 8, 8), num_clips=1, seed=0)
    assert (out.clip_latents[0] - ref_latents).abs().max() <= 1e-4 * ref_latents.abs().max()
    frames = (model.generate([PROMPT], num_clips=1, seed=0) / 2 + 0.5).permute(0, 2, 1, 3, 4)
    assert frames.shape == ref_video.shape == (1, 4, 3, 16, 16)
    assert (frames - ref_video).abs().max() < 1e-3


def test_fnr_pns_dsg_equations_hold_on_animatediff(model):
    assert check_strategy_invariants(model, num_clips=3).shape == (1, 3, 12, 16, 16)


def test_loads_and_runs_without_diffusers(folder, plugins_on_path, monkeypatch, tmp_path):
    adapter = load_file(osp.join(folder, 'motion_adapter', 'diffusion_pytorch_model.safetensors'))
    torch.save(original_layout(adapter), str(tmp_path / 'mm.ckpt'))
    for name in [m for m in sys.modules if m == 'diffusers' or m.startswith('diffusers.')]:
        monkeypatch.setitem(sys.modules, name, None)
    config = dict(motion_num_attention_heads=4, motion_norm_num_groups=8)
    for source in (osp.join(folder, 'motion_adapter'), str(tmp_path / 'mm.ckpt')):
        unet = _unet(folder, source, motion_module_config=config)
        with torch.no_grad():
            assert unet(torch.zeros(1, 4, 2, 8, 8), 1, torch.zeros(1, 3, 32)).shape[2] == 2


def test_per_frame_timesteps(folder, plugins_on_path):
    from tiny_backbones import check_per_frame_timesteps
    unet = _unet(folder, osp.join(folder, 'motion_adapter'))
    check_per_frame_timesteps(unet, channels=4, text_dim=32)

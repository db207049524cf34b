"""configs/vidrd_released.py: the released ModelT2V.pth + vae_finetuned/ over SD-2.1-base.

The files are written here at tiny sizes and random weights in the release's layout, under
``data/`` of a temporary folder the tools run in, so the config is used as written (its paths
unchanged); only sizes and steps shrink through --cfg-options:

- ``data/stable-diffusion-2-1-base/``: ``unet/config.json`` and ``text_encoder/config.json``
  (the architectures; the release brings every weight) and a CLIP BPE ``tokenizer/``;
- ``data/vidrd/ModelT2V.pth``: ``{"state_dict": {"unet.*": ..., "text_encoder.*": ...}}``
  (a torch pickle of tensors, as released);
- ``data/vidrd/vae_finetuned/``: ``config.json`` (``TemporalAutoencoderKL``, ``add_temp_conv``)
  and ``diffusion_pytorch_model.bin`` with diffusers-0.14 attention names, as released.
"""
import json
import os
import os.path as osp
import runpy
import sys

import pytest
import torch

from conftest import write_tiny_clip_tokenizer
from tiny_backbones import randomize
from vidrd.apis import load_generation_config, load_generation_model
from vidrd.models.unets import UNet3DConditionModel
from vidrd.models.unets.loading import unet_config_from_diffusers

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'vidrd_released.py')
#: diffusers' UNet2DConditionModel config.json of an SD-2.1-shaped U-Net at tiny widths
UNET = dict(_class_name='UNet2DConditionModel', in_channels=4, out_channels=4,
            block_out_channels=[32, 32], down_block_types=['CrossAttnDownBlock2D', 'DownBlock2D'],
            up_block_types=['UpBlock2D', 'CrossAttnUpBlock2D'], layers_per_block=1,
            attention_head_dim=[2, 2], cross_attention_dim=32, use_linear_projection=True,
            norm_num_groups=8, flip_sin_to_cos=True, freq_shift=0, sample_size=8)
TEXT = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
            num_attention_heads=4, max_position_embeddings=77, hidden_act='gelu',
            bos_token_id=0, pad_token_id=1, eos_token_id=1)
VAE = dict(block_out_channels=(32, 32), down_block_types=('DownEncoderBlock2D',) * 2,
           up_block_types=('UpDecoderBlock2D',) * 2, layers_per_block=1, latent_channels=4,
           norm_num_groups=32, sample_size=16)
#: 4 frames of 16 x 16 pixels (8 x 8 latents), M = 2, 2 DDIM steps
TINY = ['model.num_frames=4', 'model.resolution=(16,16)',
        'model.long_video_sampler.num_frames=4', 'model.long_video_sampler.num_prompt_frames=2',
        'model.long_video_sampler.num_inference_steps=2', 'log_level=WARNING']


def _options(argv):
    """``--cfg-options argv`` as tools parse it."""
    import argparse

    from mmengine.config import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *argv]).cfg_options


@pytest.fixture(scope='module')
def release(tmp_path_factory):
    """A folder holding ``data/`` laid out as the config expects; returns the written weights."""
    from transformers import CLIPTextConfig

    from vidrd.models.text_encoders import CLIPTextEncoder
    from vidrd.models.vaes import AutoencoderKL
    from vidrd.models.vaes.pretrained import VIDRD_TEMPORAL_CONV, to_legacy_attention_keys
    root = tmp_path_factory.mktemp('release')
    sd21, vidrd = root / 'data' / 'stable-diffusion-2-1-base', root / 'data' / 'vidrd'
    for sub in ('unet', 'text_encoder'):
        (sd21 / sub).mkdir(parents=True)
    (sd21 / 'unet' / 'config.json').write_text(json.dumps(UNET))
    CLIPTextConfig(**TEXT).to_json_file(str(sd21 / 'text_encoder' / 'config.json'))
    write_tiny_clip_tokenizer(sd21 / 'tokenizer')

    torch.manual_seed(0)
    unet = randomize(UNet3DConditionModel(**unet_config_from_diffusers(UNET)), seed=1, std=0.05)
    text = randomize(CLIPTextEncoder(config=TEXT), seed=2, std=0.05)
    state = {f'unet.{k}': v for k, v in unet.state_dict().items()}
    state.update({f'text_encoder.{k}': v for k, v in text.state_dict().items()})
    vidrd.mkdir(parents=True)
    torch.save({'state_dict': state}, str(vidrd / 'ModelT2V.pth'))

    vae = randomize(AutoencoderKL(**VAE, temporal_conv=dict(VIDRD_TEMPORAL_CONV)), seed=3,
                    std=0.05)
    folder = vidrd / 'vae_finetuned'
    vae.save_pretrained(str(folder), legacy_attention_names=True)
    os.remove(folder / 'diffusion_pytorch_model.safetensors')
    torch.save(to_legacy_attention_keys(vae.state_dict()),
               str(folder / 'diffusion_pytorch_model.bin'))
    return dict(root=str(root), state=state, vae=vae.state_dict())


@pytest.fixture
def in_release(release, monkeypatch):
    monkeypatch.chdir(release['root'])
    return release


def test_the_config_names_the_release_and_the_original_sampler():
    cfg = load_generation_config(CONFIG)
    model = cfg.model
    assert model.unet == dict(type='OriginalVidRDUNet', checkpoint='data/vidrd/ModelT2V.pth',
                              unet_config='data/stable-diffusion-2-1-base/unet',
                              norm_over_frames=True, gradient_checkpointing=True, compile=False)
    assert model.vae.folder == 'data/vidrd/vae_finetuned'
    assert model.text_encoder.checkpoint == 'data/vidrd/ModelT2V.pth'
    assert 'pretrained' not in model.text_encoder
    sampler = model.long_video_sampler
    assert (sampler.num_frames, sampler.num_prompt_frames, sampler.num_inference_steps,
            sampler.guidance_scale, model.resolution) == (16, 4, 50, 10.0, (256, 256))
    assert [(s['type'], s.get('alpha', s.get('beta'))) for s in sampler.strategies] == [
        ('FrameNoiseReversion', None), ('PastDependentNoiseSampling', 4.0),
        ('StagedGuidanceDenoising', 0.4)]
    # training and testing stay the SD-2.1 config's
    assert cfg.train_dataloader.dataset.type == 'UCF101Dataset' and cfg.test_evaluator


def test_every_weight_comes_from_the_release(in_release):
    model = load_generation_model(load_generation_config(CONFIG, cfg_options=_options(TINY)))
    state = in_release['state']
    for name, value in model.unet.state_dict().items():
        assert torch.equal(value, state[f'unet.{name}']), name
    for name, value in model.text_encoder.state_dict().items():
        assert torch.equal(value, state[f'text_encoder.{name}']), name
    vae = model.vae.state_dict()
    assert vae.keys() == in_release['vae'].keys()
    assert any('temp_convs' in k for k in vae)  # the temporal decoder of vae_finetuned/
    assert all(torch.equal(vae[k], v) for k, v in in_release['vae'].items())


def test_tools_generate_makes_a_long_video_as_written(in_release, tmp_path, monkeypatch):
    """``python tools/generate.py configs/vidrd_released.py --prompt ... --num-clips N``, with
    only the sizes shrunk; the device is the default (auto: the CPU here)."""
    monkeypatch.setattr(sys, 'argv', [
        'tools/generate.py', CONFIG, '--prompt', 'a red car', '--num-clips', '2',
        '--out-dir', str(tmp_path), '--formats', 'gif', '--cfg-options', *TINY])
    runpy.run_path(osp.join(REPO, 'tools', 'generate.py'), run_name='__main__')
    (gif,) = [name for name in os.listdir(tmp_path) if name.endswith('.gif')]
    from PIL import Image
    with Image.open(tmp_path / gif) as image:
        assert image.n_frames == 2 * 4 and image.size == (16, 16)

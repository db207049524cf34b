"""tools/export_model.py: an SD-2.1-style model (pretrained folders + a training checkpoint of
its trainable subset) exports to a folder that loads, bit-identical, after the pretrained
folders are gone."""
import os.path as osp
import shutil

import pytest
import torch

from vidrd.apis import load_generation_config, load_generation_model
from vidrd.apis.export import export_standalone_model
from vidrd.utils.checkpoint import CheckpointMismatchError, save_state_dict_atomic

SD21_CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'vidrd_sd21_ucf.py')


def _sd_options(sd: str, tokenizer: str) -> dict:
    return {
        'model.unet.folder': osp.join(sd, 'unet'),
        'model.unet.gradient_checkpointing': False,
        'model.vae.folder': osp.join(sd, 'vae'),
        'model.text_encoder.pretrained': osp.join(sd, 'text_encoder'),
        'model.text_encoder.tokenizer': tokenizer,
        'model.num_frames': 4,
        'model.resolution': (16, 16),
        'model.long_video_sampler.num_frames': 4,
        'model.long_video_sampler.num_prompt_frames': 2,
        'model.long_video_sampler.num_inference_steps': 2,
    }


def test_export_loads_without_the_pretrained_folders(reference_dir, tiny_clip_tokenizer,
                                                    tmp_path):
    sd = tmp_path / 'sd21'  # a copy we can delete: the export must not need it
    shutil.copytree(osp.join(reference_dir, 'sd21_tiny'), sd)
    tokenizer = tiny_clip_tokenizer[0]
    options = _sd_options(str(sd), str(tokenizer))
    model = load_generation_model(SD21_CONFIG, cfg_options=options)
    # a "trained" checkpoint: the trainable subset only, changed from its init
    torch.manual_seed(0)
    trained = {n: p.detach() + 0.01 * torch.randn_like(p)
               for n, p in model.named_parameters() if p.requires_grad}
    checkpoint = str(tmp_path / 'trained.safetensors')
    save_state_dict_atomic(trained, checkpoint)
    model = load_generation_model(SD21_CONFIG, checkpoint, cfg_options=options)
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    video = model.generate(['red'], seed=3)

    out = tmp_path / 'export'
    export_standalone_model(SD21_CONFIG, checkpoint, str(out), cfg_options=options)
    shutil.rmtree(sd)
    shutil.rmtree(tokenizer)
    moved = tmp_path / 'moved'  # paths inside the export are relative to its config
    shutil.move(str(out), moved)
    config = str(moved / 'config.py')
    assert str(tmp_path) not in (moved / 'config.py').read_text()

    loaded = load_generation_model(config, str(moved / 'model.safetensors'))
    state = loaded.state_dict()
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(state[key], value), key
    assert loaded.text_encoder.tokenizer(['red']).tolist() == \
        model.text_encoder.tokenizer(['red']).tolist()
    torch.testing.assert_close(loaded.generate(['red'], seed=3), video, rtol=0, atol=0)

    # the export's config builds every part at random init: it never takes a partial checkpoint
    with pytest.raises(CheckpointMismatchError, match='weights it lacks'):
        load_generation_model(config, checkpoint)
    with pytest.raises(ValueError, match='standalone export'):
        load_generation_model(config)


def test_export_of_the_tiny_config_keeps_its_word_tokenizer(tiny_config_options, tmp_path):
    tiny = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'vidrd_tiny_shapes.py')
    model = load_generation_model(tiny, cfg_options=tiny_config_options)
    checkpoint = str(tmp_path / 'all.safetensors')
    save_state_dict_atomic(dict(model.state_dict()), checkpoint)
    export_standalone_model(tiny, checkpoint, str(tmp_path / 'out'),
                            cfg_options=tiny_config_options)
    loaded = load_generation_model(str(tmp_path / 'out' / 'config.py'),
                                   str(tmp_path / 'out' / 'model.safetensors'))
    prompts = ['a red circle moving left', 'a blue square moving up']
    assert torch.equal(loaded.text_encoder.tokenizer(prompts),
                       model.text_encoder.tokenizer(prompts))
    torch.testing.assert_close(loaded.generate(prompts, seed=1), model.generate(prompts, seed=1),
                               rtol=0, atol=0)


def test_components_write_only_the_files_their_config_reads(tiny_config_options, tmp_path):
    """``export_config(folder)`` (``ExportableComponent``): ``folder`` is where a component may
    write the files its config reads. The tiny model's U-Net and VAE configs are inline and its
    word tokenizer's vocabulary too: only the text encoder writes (its ``config.json``)."""
    from vidrd.apis.export import ExportableComponent, standalone_model_config
    tiny = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'vidrd_tiny_shapes.py')
    model = load_generation_model(tiny, cfg_options=tiny_config_options)
    assert isinstance(model.unet, ExportableComponent)
    assert isinstance(model.text_encoder, ExportableComponent)
    cfg = load_generation_config(tiny, cfg_options=tiny_config_options)
    exported = standalone_model_config(model, cfg.model, str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['text_encoder']
    assert sorted(p.name for p in (tmp_path / 'text_encoder').iterdir()) == ['config.json']
    assert exported['text_encoder']['config'] == str(tmp_path / 'text_encoder')
    assert exported['unet']['type'] == 'UNet3DConditionModel'
    assert exported['text_encoder']['tokenizer']['type'] == 'WordTokenizer'

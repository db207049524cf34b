"""Generated videos with hard cuts at known frames and small tables, for the data tools' tests."""
import csv
import os
import os.path as osp
import types

import numpy as np
import pytest

from vidrd.datasets.video_io import write_video


def scene_frames(num_frames: int, seed: int, height: int = 32, width: int = 48,
                 textured: bool = True) -> np.ndarray:
    """uint8 (F, H, W, 3): one shot, a two-colour sine texture drifting slowly (or a solid
    colour); different seeds give scenes a cut detector tells apart."""
    rng = np.random.default_rng(seed)
    low, high = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    if not textured:
        return np.broadcast_to(low.round().astype(np.uint8), (num_frames, height, width, 3)).copy()
    y, x = np.mgrid[0:height, 0:width]
    fx, fy, phase = rng.uniform(1, 3), rng.uniform(1, 3), rng.uniform(0, 2 * np.pi)
    frames = []
    for i in range(num_frames):
        w = 0.5 + 0.5 * np.sin(2 * np.pi * (fx * x / width + fy * y / height) + phase + 0.15 * i)
        frames.append(high * w[..., None] + low * (1 - w[..., None]))
    return np.stack(frames).round().clip(0, 255).astype(np.uint8)


def write_cut_video(path: str, cuts, fps: float = 10, seed: int = 0, textured=True,
                    height: int = 32, width: int = 48) -> str:
    """A video whose shots are ``[cuts[k], cuts[k+1])`` frames (``cuts[0] == 0``)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    shots = [scene_frames(b - a, seed * 100 + k, height, width,
                          textured if isinstance(textured, bool) else textured[k])
             for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:]))]
    return write_video(path, np.concatenate(shots), fps=fps)


def write_csv(path: str, rows, fields) -> str:
    with open(path, 'w', newline='') as file:
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture
def load_tool():
    """``load_tool('tools/data/segment_videos.py')``: the entry point's module, whose
    ``main(argv)`` runs the tool in this process."""
    import importlib.util

    def load(relative_path: str):
        name = osp.splitext(osp.basename(relative_path))[0]
        spec = importlib.util.spec_from_file_location(name, osp.join(REPO, relative_path))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture
def cut_videos():
    """The helpers above, as attributes."""
    return types.SimpleNamespace(scene_frames=scene_frames, write_cut_video=write_cut_video,
                                 write_csv=write_csv)


# --- tiny random vision-language models (BLIP-2, LLaVA) saved to folders ---------------------
VLM_WORDS = ('a the person video of is this in one sentence describe it cooking dancing '
             'question answer what : . , user assistant').split()
SPECIAL_TOKENS = ['<pad>', '<unk>', '<s>', '</s>', '<image>']
LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }} : {% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<image> {% else %}{{ item['text'] }} {% endif %}"
    "{% endfor %}{% endfor %}{% if add_generation_prompt %}assistant :{% endif %}")


def tiny_tokenizer():
    """A word-level fast tokenizer over ``VLM_WORDS`` plus 40 filler words (w0 .. w39)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    words = SPECIAL_TOKENS + list(VLM_WORDS) + [f'w{i}' for i in range(40)]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token='<unk>'))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.decoder = decoders.WordPiece()
    backend.add_special_tokens(SPECIAL_TOKENS)
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token='<unk>',
                                   pad_token='<pad>', bos_token='<s>', eos_token='</s>')


def save_tiny_blip2(folder) -> str:
    """Blip2ForConditionalGeneration (ViT, Q-Former, OPT: width 16, 1 layer) + processor."""
    import torch
    from transformers import (Blip2Config, Blip2ForConditionalGeneration, Blip2Processor,
                              BlipImageProcessor)
    tokenizer = tiny_tokenizer()
    vocab = len(tokenizer)
    small = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
    config = Blip2Config(
        vision_config=dict(small, image_size=32, patch_size=8),
        qformer_config=dict(small, encoder_hidden_size=16, vocab_size=vocab),
        text_config=dict(model_type='opt', vocab_size=vocab, hidden_size=16, ffn_dim=32,
                         num_hidden_layers=1, num_attention_heads=2, word_embed_proj_dim=16,
                         max_position_embeddings=128, bos_token_id=2, eos_token_id=3,
                         pad_token_id=0, init_std=0.5),
        num_query_tokens=4, image_token_index=tokenizer.convert_tokens_to_ids('<image>'))
    torch.manual_seed(0)
    Blip2ForConditionalGeneration(config).save_pretrained(folder)
    Blip2Processor(image_processor=BlipImageProcessor(size=dict(height=32, width=32)),
                   tokenizer=tokenizer, num_query_tokens=4).save_pretrained(folder)
    return str(folder)


def save_tiny_llava(folder) -> str:
    """LlavaForConditionalGeneration (CLIP vision, Llama: width 16, 1 layer) + processor with a
    chat template."""
    import torch
    from transformers import (CLIPImageProcessor, LlavaConfig, LlavaForConditionalGeneration,
                              LlavaProcessor)
    tokenizer = tiny_tokenizer()
    config = LlavaConfig(
        vision_config=dict(model_type='clip_vision_model', hidden_size=16, intermediate_size=32,
                           num_hidden_layers=1, num_attention_heads=2, image_size=32,
                           patch_size=8, projection_dim=16),
        text_config=dict(model_type='llama', vocab_size=len(tokenizer), hidden_size=16,
                         intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=2, max_position_embeddings=256, bos_token_id=2,
                         eos_token_id=3, pad_token_id=0, initializer_range=0.5),
        image_token_index=tokenizer.convert_tokens_to_ids('<image>'), vision_feature_layer=-1,
        vision_feature_select_strategy='default')
    torch.manual_seed(0)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    LlavaProcessor(image_processor=CLIPImageProcessor(size=dict(shortest_edge=32),
                                                      crop_size=dict(height=32, width=32)),
                   tokenizer=tokenizer, patch_size=8, vision_feature_select_strategy='default',
                   num_additional_image_tokens=1,
                   chat_template=LLAVA_CHAT_TEMPLATE).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope='session')
def tiny_vlm_dirs(tmp_path_factory):
    """{'blip2': folder, 'llava': folder} of tiny random models with their processors."""
    root = tmp_path_factory.mktemp('tiny_vlms')
    return dict(blip2=save_tiny_blip2(root / 'blip2'), llava=save_tiny_llava(root / 'llava'))


# --- a tiny random Qwen2-VL: a processor that takes videos= ------------------------------------
QWEN_SPECIAL_TOKENS = ['<pad>', '<unk>', '<|im_start|>', '<|im_end|>', '<|vision_start|>',
                       '<|vision_end|>', '<|image_pad|>', '<|video_pad|>']
#: Qwen2-VL's chat template in miniature: a video item becomes the vision tokens the processor
#: expands into one <|video_pad|> per merged patch of the video
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }} "
    "{% for item in message['content'] %}"
    "{% if item['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif item['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% else %}{{ item['text'] }}{% endif %}{% endfor %}<|im_end|> {% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant {% endif %}")


def save_tiny_qwen2_vl(folder) -> str:
    """Qwen2VLForConditionalGeneration (vision: 1 block of width 16, 8 px patches, 2 frames per
    temporal patch; Qwen2 text: width 16, 1 layer) + its processor (image and video processors,
    a word-level tokenizer with Qwen's vision tokens, a chat template)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (PreTrainedTokenizerFast, Qwen2VLConfig,
                              Qwen2VLForConditionalGeneration, Qwen2VLImageProcessor,
                              Qwen2VLProcessor, Qwen2VLVideoProcessor)
    words = QWEN_SPECIAL_TOKENS + list(VLM_WORDS) + [f'w{i}' for i in range(40)]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token='<unk>'))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.decoder = decoders.WordPiece()
    backend.add_special_tokens(QWEN_SPECIAL_TOKENS)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token='<unk>',
                                        pad_token='<pad>', eos_token='<|im_end|>')
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS}
    config = Qwen2VLConfig(
        vision_config=dict(depth=1, embed_dim=16, hidden_size=16, num_heads=2, mlp_ratio=2,
                           patch_size=8, spatial_merge_size=2, temporal_patch_size=2),
        text_config=dict(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=512, bos_token_id=None,
                         eos_token_id=ids['<|im_end|>'], pad_token_id=0, initializer_range=0.5,
                         # multimodal rotary sections (time, height, width): head_dim 8 / 2
                         rope_parameters=dict(rope_type='default', rope_theta=10000.0,
                                              mrope_section=[2, 1, 1])),
        image_token_id=ids['<|image_pad|>'], video_token_id=ids['<|video_pad|>'],
        vision_start_token_id=ids['<|vision_start|>'],
        vision_end_token_id=ids['<|vision_end|>'])
    torch.manual_seed(0)
    Qwen2VLForConditionalGeneration(config).save_pretrained(folder)
    # frames resized to 32 x 32 .. 64 x 64 pixels: a few 16 px merged patches each
    vision = dict(patch_size=8, merge_size=2, temporal_patch_size=2,
                  size=dict(shortest_edge=32 * 32, longest_edge=64 * 64))
    Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(**vision), tokenizer=tokenizer,
                     video_processor=Qwen2VLVideoProcessor(**vision),
                     chat_template=QWEN_CHAT_TEMPLATE).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope='session')
def tiny_qwen2_vl_dir(tmp_path_factory):
    """The folder of a tiny random Qwen2-VL with its processor."""
    return save_tiny_qwen2_vl(tmp_path_factory.mktemp('tiny_qwen2_vl') / 'qwen2_vl')

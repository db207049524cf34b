"""Text encoders (prompts -> token embeddings) and their tokenizers, registered in MODELS."""
from .clip_text_encoder import CLIPTextEncoder
from .clip_tokenizer import LocalCLIPTokenizer, build_tokenizer
from .word_tokenizer import WordTokenizer

__all__ = ['CLIPTextEncoder', 'LocalCLIPTokenizer', 'WordTokenizer', 'build_tokenizer']

from .generate import (GeneratedVideo, build_sampler, generate_long_video, generation_components,
                       load_generation_config, load_generation_model, read_prompt_file)
from .run_config import build_runner, check_paths, load_config, missing_paths

__all__ = ['build_runner', 'check_paths', 'load_config', 'missing_paths', 'generate_long_video',
           'load_generation_model', 'load_generation_config', 'read_prompt_file',
           'build_sampler', 'generation_components', 'GeneratedVideo']

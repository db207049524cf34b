from .run_config import build_runner, check_paths, load_config, missing_paths

__all__ = ['build_runner', 'check_paths', 'load_config', 'missing_paths']

import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

GRADIO = 'gradio>=6,<7'
#: the configs a wheel carries, where vidrd.apis.config_files.find_configs_dir looks (mim's layout)
CONFIGS, PACKAGED_CONFIGS = 'configs', osp.join('vidrd', '.mim', 'configs')


class BuildWithConfigs(build_py):
    """``build_py`` that also copies ``configs/`` into the package as ``vidrd/.mim/configs``, so
    a wheel install has the demo's, the strategies' and every other shipped config (a source
    checkout and an editable install read ``configs/`` itself)."""

    def run(self):
        super().run()
        here = osp.dirname(osp.abspath(__file__))
        if getattr(self, 'editable_mode', False) or not osp.isdir(osp.join(here, CONFIGS)):
            return
        target = osp.join(self.build_lib, PACKAGED_CONFIGS)
        if osp.isdir(target):
            shutil.rmtree(target)
        os.makedirs(osp.dirname(target), exist_ok=True)
        shutil.copytree(osp.join(here, CONFIGS), target,
                        ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


setup(
    name='vidrd',
    version='0.1.0',
    description='Reuse and Diffuse (VidRD): text-to-video latent diffusion in the OpenMMLab style',
    packages=find_packages(include=['vidrd', 'vidrd.*']),
    package_data={'vidrd.datasets': ['prompts/*.json', 'prompts/*.txt']},
    cmdclass={'build_py': BuildWithConfigs},
    python_requires='>=3.10',
    # ranges the code supports, so an existing environment keeps its own torch build (CUDA or
    # CPU-only); requirements/constraints.txt pins the versions CI and the demo install
    install_requires=[
        'torch>=2.1',  # scaled_dot_product_attention; FSDP2 (--strategy fsdp2) needs >= 2.6
        'torchvision>=0.16',  # the torch 2.1 pairing; pytorch-fid's InceptionV3
        'mmengine>=0.10.7,<0.11',  # Runner / FlexibleRunner internals vidrd relies on
        'transformers>=4.40',
        'safetensors>=0.4',
        'av>=12',
        'numpy',
        'scipy',
        'imageio>=2.30',
        'pillow',
        'tqdm',
        'scenedetect>=0.6.4',  # shot detection for tools/data/segment_videos.py
        'pyarrow',  # LAION-style parquet tables
        'matplotlib',
        'tensorboard>=2.14',
        'pytorch-fid>=0.3,<0.4',  # calculate_frechet_distance, its InceptionV3
        'einops>=0.7',
    ],
    extras_require={
        # the web app (tools/app.py); tools/demo.sh installs it to print a working app command
        'app': [GRADIO],
        # diffusers is only a test oracle and a benchmark baseline, never imported at run time
        'tests': ['pytest>=7', 'pytest-xdist>=3', 'diffusers>=0.30', GRADIO, 'playwright>=1.40'],
        'benchmarks': ['diffusers>=0.30'],
        'eval': [],  # pytorch-fid is a runtime dependency now; kept so `.[eval]` still installs
        'deepspeed': ['deepspeed'],  # configs/_base_/strategies/deepspeed_zero2.py (GPU)
        # the documentation site (mkdocs.yml): bash tools/docs/build.sh
        'docs': ['mkdocs>=1.6,<2', 'mkdocs-material>=9.5', 'mkdocstrings>=0.26',
                 'mkdocstrings-python>=1.10'],  # (= mkdocstrings[python], each pinnable)
    },
)

from setuptools import find_packages, setup

setup(
    name='vidrd',
    version='0.1.0',
    description='Reuse and Diffuse (VidRD): text-to-video latent diffusion in the OpenMMLab style',
    packages=find_packages(include=['vidrd', 'vidrd.*']),
    package_data={'vidrd.datasets': ['prompts/*.json', 'prompts/*.txt']},
    python_requires='>=3.10',
    install_requires=[
        'torch==2.14.1',
        'torchvision==0.29.1',
        'mmengine==0.10.7',
        'diffusers>=0.30',
        'transformers>=4.40',
        'safetensors>=0.4',
        'av>=12',
        'numpy',
        'scipy',
        'imageio>=2.30',
        'pillow',
        'tqdm',
        'einops>=0.7',
    ],
    extras_require={
        'tests': ['pytest>=7', 'pytorch-fid==0.3.0'],
        'eval': ['pytorch-fid==0.3.0'],
    },
)

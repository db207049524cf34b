# VidRD: Stable Diffusion 2.1-base -> text-to-video, trained on UCF-101 (paper Sec. 4.1).
#   python tools/train.py configs/vidrd_sd21_ucf.py            (bf16: add --amp)
# Needs data/stable-diffusion-2-1-base (diffusers folder) and data/ucf101 (UCF-101 + splits).
_base_ = [
    './_base_/models/vidrd_sd21.py',
    './_base_/datasets/ucf101.py',
    './_base_/evaluation/ucf101_zero_shot.py',
    './_base_/schedules/adamw_iter.py',
    './_base_/default_runtime.py',
]

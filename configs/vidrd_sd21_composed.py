# VidRD on SD-2.1-base trained on the composed data of the paper (video-text, action
# recognition, image-text pseudo-videos); tested with the UCF-101 zero-shot protocol.
_base_ = [
    './_base_/models/vidrd_sd21.py',
    './_base_/datasets/composed.py',
    './_base_/evaluation/ucf101_zero_shot.py',
    './_base_/schedules/adamw_iter.py',
    './_base_/default_runtime.py',
]

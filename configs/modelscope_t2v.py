# Reuse and Diffuse on ModelScope T2V / Zeroscope: long videos, fine-tuning on UCF-101 and the
# UCF-101 zero-shot protocol with the same tools as VidRD's own model.
#   python tools/generate.py configs/modelscope_t2v.py --prompt "..." --num-clips 4 \
#       --sampler-config configs/ablations/vidrd_full.py
#   python tools/train.py configs/modelscope_t2v.py          (the temporal layers train)
#   python tools/test.py configs/modelscope_t2v.py CHECKPOINT
# Zeroscope v2: configs/zeroscope_v2.py.
_base_ = [
    './_base_/models/modelscope_t2v.py',
    './_base_/datasets/ucf101.py',
    './_base_/evaluation/ucf101_zero_shot.py',
    './_base_/schedules/adamw_iter.py',
    './_base_/default_runtime.py',
]

# Zeroscope v2 576w (cerspense/zeroscope_v2_576w): ModelScope T2V's architecture fine-tuned on
# 24-frame 576x320 clips; the same backbone, tools and ablations as configs/modelscope_t2v.py.
#   python tools/generate.py configs/zeroscope_v2.py --prompt "..." --num-clips 4 \
#       --sampler-config configs/ablations/vidrd_full.py
_base_ = ['./modelscope_t2v.py']
zeroscope = 'data/zeroscope_v2_576w'  # unet/ vae/ text_encoder/ tokenizer/ scheduler/
model = dict(
    unet=dict(folder=zeroscope + '/unet'),
    vae=dict(folder=zeroscope + '/vae'),
    text_encoder=dict(pretrained=zeroscope + '/text_encoder', tokenizer=zeroscope + '/tokenizer'),
    noise_schedule=dict(folder=zeroscope + '/scheduler'),
    sampling_scheduler=dict(folder=zeroscope + '/scheduler'),
    num_frames=24, resolution=(320, 576),
    long_video_sampler=dict(num_frames=24, num_prompt_frames=12))

# Baseline: none of FNR / PNS / DSG; every clip from its own noise.
# Changes over vidrd_full.py: the strategies only (IndependentClips); N, M, steps and guidance
# stay the model's.
_base_ = ['./vidrd_full.py']
long_video_sampler = dict(strategies=[dict(type='IndependentClips')])

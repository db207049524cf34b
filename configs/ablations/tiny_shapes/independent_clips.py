# Baseline at the tiny model's size: none of FNR / PNS / DSG; every clip from its own noise.
_base_ = ['./vidrd_full.py']
long_video_sampler = dict(strategies=[dict(type='IndependentClips')])

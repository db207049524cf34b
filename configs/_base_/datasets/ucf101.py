# UCF-101 video-text pairs: official split 1, one descriptive prompt per class (shipped with
# vidrd), 16 frames at 256x256.
data_root = 'data/ucf101'  # UCF-101/<Class>/*.avi and ucfTrainTestlist/
ucf_clip = dict(num_frames=16, size=(256, 256))  # frames per clip, (H, W)

train_pipeline = [
    dict(type='LoadVideoFrames', num_frames=ucf_clip['num_frames'], frame_interval=2, clip_start='random'),
    dict(type='Resize', scale=ucf_clip['size'][0]),
    dict(type='RandomCrop', size=ucf_clip['size']),
    dict(type='NormalizeVideo'),
    dict(type='PackVideoInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='UCF101Dataset', data_root=data_root, subset='train', split=1,
                 pipeline=train_pipeline))


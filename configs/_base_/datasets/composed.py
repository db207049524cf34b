# The paper's composed training data (Sec. 3.4): video-text pairs (WebVid-style), action
# recognition videos with captions (UCF-101 class prompts) and image-text pairs turned into
# pseudo-videos by a random zoom and pan, mixed with fixed weights.
clip = dict(num_frames=16, size=(256, 256))
video_pipeline = [
    dict(type='LoadVideoFrames', num_frames=clip['num_frames'], frame_interval=2),
    dict(type='Resize', scale=clip['size'][0]),
    dict(type='RandomCrop', size=clip['size']),
    dict(type='NormalizeVideo'),
    dict(type='PackVideoInputs'),
]
image_pipeline = [
    dict(type='LoadImage'),
    dict(type='ImageToPseudoVideo', num_frames=clip['num_frames'], size=clip['size'],
         zoom_range=(1.0, 1.25), pan_range=0.1),
    dict(type='NormalizeVideo'),
    dict(type='PackVideoInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='MixedDataset', weights=(0.5, 0.2, 0.3), seed=0,
        datasets=[
            dict(type='VideoTextDataset', data_root='data/webvid', ann_file='results_2M_train.csv',
                 path_format='{page_dir}/{videoid}.mp4', caption_key='name',
                 pipeline=video_pipeline),
            dict(type='UCF101Dataset', data_root='data/ucf101', subset='train', split=1,
                 pipeline=video_pipeline),
            dict(type='ImageTextDataset', data_root='data/images', ann_file='captions.jsonl',
                 pipeline=image_pipeline),
        ]))

ucf101_root = 'data/ucf101'  # ucfTrainTestlist/ gives the class distribution
# Zero-shot protocol of the paper (Sec. 4.2): ~10K prompts, one descriptive prompt per class,
# drawn with the training split's class distribution; 16-frame clips are generated and scored
# with FVD (Kinetics-400 I3D) and IS (C3D fine-tuned on UCF-101).
test_dataloader = dict(
    batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='UCF101PromptDataset', num_prompts=10_000,
                 split_file=ucf101_root + '/ucfTrainTestlist/trainlist01.txt',
                 class_index_file=ucf101_root + '/ucfTrainTestlist/classInd.txt'))
# The real clips FVD compares against, as the generated ones are made: every video of the
# training split (the prompts' distribution) gives one clip of the protocol's 16 frames, the
# training stride (every 2nd frame), a fixed start (the first frame) and the centre square of
# 256 x 256 (shorter side resized to 256): deterministic, so the statistics are the same for
# every run. Computed once, into test_evaluator's reference_stats file:
#   python tools/compute_reference_stats.py CONFIG      (reads reference_dataloader.dataset)
fvd_clip = dict(num_frames=16, size=(256, 256), frame_interval=2)
reference_dataloader = dict(
    dataset=dict(type='UCF101Dataset', data_root=ucf101_root, subset='train', split=1,
                 pipeline=[
                     dict(type='LoadVideoFrames', num_frames=fvd_clip['num_frames'],
                          frame_interval=fvd_clip['frame_interval'], clip_start='begin'),
                     dict(type='Resize', scale=fvd_clip['size'][0]),
                     dict(type='CenterCrop', size=fvd_clip['size']),
                     dict(type='NormalizeVideo'),
                     dict(type='PackVideoInputs'),
                 ]))
evaluation_weights = 'data/evaluation'  # i3d_torchscript.pt, c3d_ucf101.pt, reference stats
test_evaluator = [
    dict(type='FrechetVideoDistance',
         extractor=dict(type='I3D', weights=evaluation_weights + '/i3d_torchscript.pt',
                        num_frames=fvd_clip['num_frames']),
         # written by tools/compute_reference_stats.py from reference_dataloader (above)
         reference_stats=evaluation_weights + '/ucf101_i3d_stats.npz'),
    dict(type='InceptionScore',
         extractor=dict(type='C3D', weights=evaluation_weights + '/c3d_ucf101.pt')),
]

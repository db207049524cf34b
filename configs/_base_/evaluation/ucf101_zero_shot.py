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
evaluation_weights = 'data/evaluation'  # i3d_torchscript.pt, c3d_ucf101.pt, reference stats
test_evaluator = [
    dict(type='FrechetVideoDistance',
         extractor=dict(type='I3D', weights=evaluation_weights + '/i3d_torchscript.pt'),
         # python tools/compute_reference_stats.py <config of real UCF-101 clips, centre crop>
         reference_stats=evaluation_weights + '/ucf101_i3d_stats.npz'),
    dict(type='InceptionScore',
         extractor=dict(type='C3D', weights=evaluation_weights + '/c3d_ucf101.pt')),
]

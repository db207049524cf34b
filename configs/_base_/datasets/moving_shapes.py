# The embedded default: moving coloured shapes with captions ("a red circle moving left"),
# generated in memory and deterministic by seed; some colour x shape x direction combinations
# are held out of training and used for testing.
num_frames = 8
size = 24
# every shape starts at the centre and moves a third of the frame: a caption then fixes the
# whole layout of its clip, which a tiny model learns in minutes (with a random start, the
# initial noise picks the layout and the direction word goes unused)
shapes_dataset = dict(type='MovingShapesDataset', num_frames=num_frames, size=size,
                      extent_range=(0.33, 0.33), travel_range=(0.33, 0.33), start='center',
                      pipeline=[dict(type='NormalizeVideo'), dict(type='PackVideoInputs')])

train_dataloader = dict(
    batch_size=8, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(shapes_dataset, split='train', num_samples=4096, seed=0))
test_dataloader = dict(
    batch_size=8, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(shapes_dataset, split='heldout', num_samples=32, seed=1))
val_dataloader = test_dataloader

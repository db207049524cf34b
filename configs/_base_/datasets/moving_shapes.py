# The embedded default: moving coloured shapes with captions ("a red circle moving left"),
# generated in memory and deterministic by seed; some colour x shape x direction combinations
# are held out of training and used for testing.
num_frames = 8
size = 24
# each shape crosses the whole frame (extent + travel ~ 1): the named direction fixes where a
# clip starts and ends, which a tiny model learns in minutes
shapes_dataset = dict(type='MovingShapesDataset', num_frames=num_frames, size=size,
                      extent_range=(0.33, 0.33), travel_range=(0.66, 0.66),
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

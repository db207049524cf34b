# The embedded default: moving coloured shapes with captions ("a red circle moving left"),
# generated in memory and deterministic by seed; some colour x shape x direction combinations
# are held out of training and used for testing.
num_frames = 8
size = 24
# Clips are windows at random offsets of endless trajectories, as real video datasets are
# sampled, so that a clip may start wherever the last one ended (what long videos need): the
# frame wraps around (a shape leaving one edge re-enters at the other), each direction runs in
# its own lane (left in the upper one, right in the lower, up on the right, down on the left;
# in one shared lane the direction word went unused: held-out direction 0.12-0.5), and offsets
# are whole multiples of the pixel-shuffle factor 3, so every clip meets the latent grid as the
# first window does (shape 0.75 held-out against 0.69 at any offset). All clips starting at the
# centre, as before, teach colour, shape and direction fastest but give long videos nothing to
# continue: every clip started again from the centre (docs/long_videos_on_the_demo.md).
shapes_dataset = dict(type='MovingShapesDataset', num_frames=num_frames, size=size,
                      extent_range=(0.33, 0.33), travel_range=(0.375, 0.375),
                      start='window', wrap=True, lane=0.25, window_weights=None, offset_step=3,
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

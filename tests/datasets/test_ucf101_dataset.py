import pytest

from vidrd.datasets import DataNotFoundError, UCF101Dataset, load_class_prompts

# classInd.txt of UCF-101, in label order.
UCF101_CLASSES = """ApplyEyeMakeup ApplyLipstick Archery BabyCrawling BalanceBeam BandMarching
BaseballPitch Basketball BasketballDunk BenchPress Biking Billiards BlowDryHair BlowingCandles
BodyWeightSquats Bowling BoxingPunchingBag BoxingSpeedBag BreastStroke BrushingTeeth CleanAndJerk
CliffDiving CricketBowling CricketShot CuttingInKitchen Diving Drumming Fencing FieldHockeyPenalty
FloorGymnastics FrisbeeCatch FrontCrawl GolfSwing Haircut Hammering HammerThrow HandstandPushups
HandstandWalking HeadMassage HighJump HorseRace HorseRiding HulaHoop IceDancing JavelinThrow
JugglingBalls JumpingJack JumpRope Kayaking Knitting LongJump Lunges MilitaryParade Mixing
MoppingFloor Nunchucks ParallelBars PizzaTossing PlayingCello PlayingDaf PlayingDhol PlayingFlute
PlayingGuitar PlayingPiano PlayingSitar PlayingTabla PlayingViolin PoleVault PommelHorse PullUps
Punch PushUps Rafting RockClimbingIndoor RopeClimbing Rowing SalsaSpin ShavingBeard Shotput
SkateBoarding Skiing Skijet SkyDiving SoccerJuggling SoccerPenalty StillRings SumoWrestling Surfing
Swing TableTennisShot TaiChi TennisSwing ThrowDiscus TrampolineJumping Typing UnevenBars
VolleyballSpiking WalkingWithDog WallPushups WritingOnBoard YoYo""".split()

PIPELINE = [dict(type='LoadVideoFrames', num_frames=4, frame_interval=2, clip_start='center'),
            dict(type='Resize', scale=16), dict(type='CenterCrop', size=16),
            dict(type='NormalizeVideo'), dict(type='PackVideoInputs')]


@pytest.fixture
def ucf_root(tmp_path, media):
    """A 3-class UCF-101 layout with the official file formats."""
    root = tmp_path / 'ucf101'
    classes = ['ApplyEyeMakeup', 'Archery', 'HandstandPushups']
    train = {'ApplyEyeMakeup': 2, 'Archery': 1, 'HandstandPushups': 3}
    lists = root / 'ucfTrainTestlist'
    lists.mkdir(parents=True)
    (lists / 'classInd.txt').write_text(''.join(f'{i + 1} {c}\n' for i, c in enumerate(classes)))
    train_lines, test_lines = [], []
    for label, name in enumerate(classes, 1):
        # The official file names spell one class differently from its folder.
        stem = 'HandStandPushups' if name == 'HandstandPushups' else name
        for group in range(train[name]):
            relative = f'{name}/v_{stem}_g{group + 8:02d}_c01.avi'
            train_lines.append(f'{relative} {label}\n')
            media.write_ramp_video(str(root / 'UCF-101' / relative), num_frames=12)
        relative = f'{name}/v_{stem}_g01_c01.avi'
        test_lines.append(f'{relative}\n')
        media.write_ramp_video(str(root / 'UCF-101' / relative), num_frames=12)
    (lists / 'trainlist01.txt').write_text(''.join(train_lines))
    (lists / 'testlist01.txt').write_text(''.join(test_lines))
    return root


def test_shipped_prompts_cover_every_class_once():
    prompts = load_class_prompts()
    assert sorted(prompts) == sorted(UCF101_CLASSES) and len(prompts) == 101
    texts = [p[0] for p in prompts.values()]
    assert all(len(p) == 1 and len(p[0].split()) >= 4 for p in prompts.values())
    assert len(set(texts)) == 101
    assert prompts['ApplyEyeMakeup'] == ['a person applying eye makeup in front of a mirror']


def test_train_split_reads_through_pipeline(ucf_root, media):
    dataset = UCF101Dataset(data_root=str(ucf_root), subset='train', pipeline=PIPELINE)
    assert len(dataset) == 6
    assert dataset.classes == ['ApplyEyeMakeup', 'Archery', 'HandstandPushups']
    assert dataset.metainfo['classes'] == tuple(dataset.classes)
    for idx in range(len(dataset)):
        media.check_packed(dataset[idx])
    sample = dataset[5]['data_samples']
    assert sample.class_label == 2 and sample.class_name == 'HandstandPushups'
    assert sample.caption == load_class_prompts()['HandstandPushups'][0]
    assert sample.video_path.endswith('v_HandStandPushups_g10_c01.avi')


def test_test_split_and_training_distribution(ucf_root):
    dataset = UCF101Dataset(data_root=str(ucf_root), subset='test')
    assert len(dataset) == 3
    assert [dataset.get_data_info(i)['class_label'] for i in range(3)] == [0, 1, 2]
    assert dataset.class_distribution() == {'ApplyEyeMakeup': 2, 'Archery': 1,
                                            'HandstandPushups': 3}
    items = dataset.zero_shot_prompts(num_samples=12, seed=0)
    counts = {}
    for item in items:
        counts[item['class_name']] = counts.get(item['class_name'], 0) + 1
        assert item['caption'] == dataset.class_prompts()[item['class_name']]
    assert counts == {'ApplyEyeMakeup': 4, 'Archery': 2, 'HandstandPushups': 6}
    assert len(dataset.zero_shot_prompts(num_samples=7)) == 7


def test_custom_prompts_several_per_class(ucf_root, tmp_path):
    prompts = tmp_path / 'prompts.txt'
    prompts.write_text('ApplyEyeMakeup\tmakeup one\nApplyEyeMakeup\tmakeup two\n'
                       'Archery: shooting arrows\nHandstandPushups\tupside down push-ups\n')
    dataset = UCF101Dataset(data_root=str(ucf_root), prompts_file=str(prompts))
    assert [dataset.get_data_info(i)['caption'] for i in range(2)] == ['makeup one', 'makeup two']
    assert dataset.get_data_info(2)['caption'] == 'shooting arrows'


def test_missing_pieces_named(ucf_root, tmp_path):
    with pytest.raises(DataNotFoundError, match='nowhere'):
        UCF101Dataset(data_root=str(tmp_path / 'nowhere'))
    with pytest.raises(DataNotFoundError, match=r'trainlist02.txt.*classInd'):
        UCF101Dataset(data_root=str(ucf_root), split=2)
    prompts = tmp_path / 'few.json'
    prompts.write_text('{"Archery": "arrows"}')
    with pytest.raises(ValueError, match='ApplyEyeMakeup'):
        UCF101Dataset(data_root=str(ucf_root), prompts_file=str(prompts))

"""Video-text tables (WebVid style): the columns a config names must be in the file."""
import pytest

from vidrd.data_tools.video_text_columns import check_dataset_columns, check_video_text_columns
from vidrd.datasets import VideoTextDataset

WEBVID_FIELDS = ['videoid', 'contentUrl', 'duration', 'page_dir', 'name']


def test_webvid_results_csv_passes_with_the_configs_columns_and_loads(tmp_path, cut_videos):
    cut_videos.write_cut_video(str(tmp_path / 'videos' / '001_050' / '31353427.mp4'), [0, 10])
    ann = cut_videos.write_csv(str(tmp_path / 'results_2M_train.csv'), [
        dict(videoid='31353427', contentUrl='u', duration='PT00H00M01S', page_dir='001_050',
             name='waves crashing')], WEBVID_FIELDS)
    cfg = dict(type='VideoTextDataset', data_root=str(tmp_path), ann_file='results_2M_train.csv',
               data_prefix=dict(video='videos'), path_format='{page_dir}/{videoid}.mp4',
               caption_key='name')
    check_dataset_columns(cfg)
    dataset = VideoTextDataset(**{k: v for k, v in cfg.items() if k != 'type'})
    assert dataset.get_data_info(0)['caption'] == 'waves crashing'

    with pytest.raises(ValueError, match=r"column\(s\) \['page', 'caption'\].*its columns: "
                                         r"\['videoid'"):
        check_video_text_columns(ann, '{page}/{videoid}.mp4', 'caption')
    check_dataset_columns(dict(type='ImageTextDataset', ann_file='anything'))  # not checked

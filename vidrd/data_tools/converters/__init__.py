"""Raw tables -> the annotation formats of vidrd's datasets.

- :mod:`.kinetics`: Kinetics-400/600/700 CSVs -> action-recognition annotation + segments file.
- :mod:`.image_text_table`: LAION-style parquet / CSV -> ``ImageTextDataset`` JSONL, filtered.

A WebVid-style table needs no conversion: :mod:`vidrd.data_tools.video_text_columns` checks
that it has the columns a config names.
"""

"""Raw tables -> the annotation formats of vidrd's datasets.

- :mod:`.kinetics`: Kinetics-400/600/700 CSVs -> action-recognition annotation + segments file.
- :mod:`.image_text_table`: LAION-style parquet / CSV -> ``ImageTextDataset`` JSONL, filtered.
- :mod:`.webvid`: check that a WebVid-style table has the columns a config names.
"""

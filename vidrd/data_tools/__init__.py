"""Producing VidRD's training data (the paper's composition, Sec. 3.4): the logic behind
``tools/data/*.py`` and ``tools/analysis/browse_dataset.py``.

- :mod:`.shot_detection`: shots of one video with PySceneDetect, cut to length.
- :mod:`.segmenting`: a folder of videos -> segments file (``SEGMENTS_FORMAT``).
- :mod:`.captioning`: a local transformers vision-language model captions each segment from key
  frames -> caption file (``CAPTION_FORMAT``, JSONL ``id,caption``).
- :mod:`.converters`: Kinetics CSVs and LAION-style tables -> the datasets' annotations.
- :mod:`.video_text_columns`: check that a WebVid-style table has the columns a config names
  (it is read as it is: nothing to convert).
- :mod:`.checking`: decode every sample of a config's dataset, report bad ones, write a cleaned
  annotation.
- :mod:`.browsing`: a grid video of samples after the pipeline, with their captions.

Every step that writes as it goes is resumable (:mod:`.appendable_files`); :mod:`.video_files`
lists a folder's videos under the ids the datasets use.
"""

"""A Gradio web app over the generation API (the logic behind ``tools/app.py``).

    python tools/app.py CONFIG [CHECKPOINT] [--port 7860] [--share false]

The page takes a prompt (one line: every clip follows it) or a storyline (several lines: clip i
follows line i), the number of clips, seed, guidance scale, DDIM steps and the long-video
strategies with their parameters: every strategy registered in ``LONG_VIDEO_STRATEGIES``, a
plugin's included (its config's ``custom_imports`` loads it), each with the numeric / boolean
arguments of its constructor. A progress bar follows every DDIM step of every clip; the result is
an mp4 (played in the page, and offered as a download). Requests are queued and run one at a
time, so two users never run the model at once. Bad input (an empty prompt, a value out of
range, a prompt with no word the model's word tokenizer knows) is answered by a message in the
page; words the tokenizer does not know are named in a warning.
"""
import inspect
import os
import os.path as osp
import tempfile
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from vidrd.utils.cli import InvalidValueError, UserError, check_value, user_error_message
from vidrd.utils.logging import get_logger

#: argument types a strategy's constructor may have that the page can edit
EDITABLE_TYPES = (bool, int, float)


@dataclass
class StrategyParameter:
    """One editable constructor argument of a registered long-video strategy."""
    strategy: str
    name: str
    default: object

    @property
    def label(self) -> str:
        return f'{self.strategy}: {self.name}'


def registered_strategies() -> Dict[str, List[StrategyParameter]]:
    """Every registered long-video strategy (plugins' too) -> its editable arguments."""
    from vidrd.registry import LONG_VIDEO_STRATEGIES
    LONG_VIDEO_STRATEGIES.import_from_location()
    strategies = {}
    for name, cls in sorted(LONG_VIDEO_STRATEGIES.module_dict.items()):
        params = []
        for arg in inspect.signature(cls.__init__).parameters.values():
            if isinstance(arg.default, EDITABLE_TYPES):
                params.append(StrategyParameter(name, arg.name, arg.default))
        strategies[name] = params
    return strategies


@dataclass
class GenerationRequest:
    """What one click of "Generate" asks for, validated."""
    prompts: List[str]          # one prompt, or a storyline (one per clip)
    num_clips: int
    seed: int
    guidance_scale: float
    num_inference_steps: int
    num_prompt_frames: int
    strategies: List[dict]      # strategy configs, in the page's order
    unknown_words: List[str]


class GenerationApp:
    """The page's logic, independent of Gradio (so it can be tested and reused).

    Args:
        model: a VidRD model (``load_generation_model``), in eval mode.
        out_dir: where each request's mp4 goes (a fresh temporary folder by default).
        fps: frame rate of the mp4.
        max_clips / max_steps: limits of the page's inputs.
    """

    def __init__(self, model, out_dir: Optional[str] = None, fps: float = 8,
                 max_clips: int = 16, max_steps: int = 200):
        self.model = model
        self.sampler = model.sampler
        self.out_dir = out_dir or tempfile.mkdtemp(prefix='vidrd_app_')
        self.fps = fps
        self.max_clips, self.max_steps = max_clips, max_steps
        self.strategies = registered_strategies()
        self._requests = 0

    # -- defaults shown in the page --------------------------------------------------------------
    def default_strategies(self) -> List[str]:
        return [type(s).__name__ for s in self.sampler.strategies]

    def default_value(self, param: StrategyParameter):
        """The model's own setting of a strategy argument, else the constructor's default."""
        for strategy in self.sampler.strategies:
            if type(strategy).__name__ == param.strategy and hasattr(strategy, param.name):
                return getattr(strategy, param.name)
        return param.default

    @property
    def tokenizer(self):
        return getattr(getattr(self.model, 'text_encoder', None), 'tokenizer', None)

    # -- validation ------------------------------------------------------------------------------
    def parse_request(self, prompt_text: str, num_clips, seed, guidance_scale, steps,
                      num_prompt_frames, enabled: Sequence[str],
                      values: Dict[Tuple[str, str], object]) -> GenerationRequest:
        """Check the page's inputs; raise :class:`UserError` with the message to show."""
        prompts = [line.strip() for line in (prompt_text or '').splitlines() if line.strip()]
        if not prompts:
            raise UserError('Enter a prompt (one line), or a storyline (one line per clip).')
        for name, value in (('clips', num_clips), ('seed', seed), ('steps', steps),
                            ('prompt frames M', num_prompt_frames),
                            ('guidance scale', guidance_scale)):
            if value is None or value != value:  # empty field or NaN
                raise InvalidValueError(f'Give a value for {name}.')
        check_value(float(num_clips).is_integer() and 1 <= num_clips <= self.max_clips,
                    f'Clips must be a whole number from 1 to {self.max_clips}, got {num_clips}.')
        num_clips = int(num_clips)
        if len(prompts) > 1 and len(prompts) != num_clips:
            raise InvalidValueError(f'The storyline has {len(prompts)} lines but clips is '
                                    f'{num_clips}: give one line per clip (or a single line).')
        check_value(float(seed).is_integer() and seed >= 0,
                    f'Seed must be a whole number >= 0, got {seed}.')
        check_value(guidance_scale >= 1, f'Guidance scale must be >= 1 (1 = no guidance), got '
                                         f'{guidance_scale}.')
        check_value(float(steps).is_integer() and 1 <= steps <= self.max_steps,
                    f'Steps must be a whole number from 1 to {self.max_steps}, got {steps}.')
        num_frames = self.sampler.num_frames
        check_value(float(num_prompt_frames).is_integer()
                    and 0 <= num_prompt_frames < num_frames,
                    f'Prompt frames M must be a whole number from 0 to {num_frames - 1} '
                    f'(a clip has {num_frames} frames), got {num_prompt_frames}.')
        unknown = self._check_words(prompts)
        strategies = []
        for name in enabled or ():
            if name not in self.strategies:
                raise InvalidValueError(f'Unknown strategy {name!r}.')
            args = {p.name: values.get((name, p.name), p.default) for p in self.strategies[name]}
            for p in self.strategies[name]:
                if isinstance(p.default, bool):
                    args[p.name] = bool(args[p.name])
                elif args[p.name] is None:
                    raise InvalidValueError(f'Give a value for {p.label}.')
            strategies.append(dict(type=name, **args))
        return GenerationRequest(prompts, num_clips, int(seed), float(guidance_scale),
                                 int(steps), int(num_prompt_frames), strategies, unknown)

    def _check_words(self, prompts: Sequence[str]) -> List[str]:
        """Words the model's word tokenizer does not know; none known at all is an error."""
        tokenizer = self.tokenizer
        if not hasattr(tokenizer, 'unknown_words'):
            return []  # a BPE tokenizer knows every word (as pieces)
        unknown = []
        for prompt in prompts:
            if not tokenizer.known_words(prompt):
                vocab = ', '.join(sorted(tokenizer.word_to_id))
                raise InvalidValueError(f'No word of "{prompt}" is known to this model\'s '
                                        f'tokenizer; it knows: {vocab}.')
            unknown += [w for w in tokenizer.unknown_words(prompt) if w not in unknown]
        return unknown

    # -- the work --------------------------------------------------------------------------------
    def build_request_sampler(self, request: GenerationRequest):
        """The model's sampler with the request's strategies, M, steps and guidance."""
        from vidrd.apis.generate import build_sampler
        return build_sampler(dict(
            type=type(self.sampler).__name__, num_frames=self.sampler.num_frames,
            num_prompt_frames=request.num_prompt_frames,
            num_inference_steps=request.num_inference_steps,
            guidance_scale=request.guidance_scale, strategies=request.strategies,
            seed_compatible=self.sampler.seed_compatible,
            drop_prompt_frames=self.sampler.drop_prompt_frames, progress=False))

    def generate(self, request: GenerationRequest, progress=None) -> Tuple[str, int]:
        """Generate the request's video; return (mp4 path, number of frames).

        ``progress(fraction, description)`` is called after every DDIM step.
        """
        from vidrd.apis.generate import generate_long_video
        sampler = self.build_request_sampler(request)
        self._requests += 1
        out_dir = osp.join(self.out_dir, f'{self._requests:04d}_{int(time.time())}')

        def callback(clip, step, num_clips, num_steps):
            if progress is not None:
                done = clip * num_steps + step + 1
                progress(done / (num_clips * num_steps),
                         f'clip {clip + 1}/{num_clips}, DDIM step {step + 1}/{num_steps}')

        storyline = len(request.prompts) > 1
        video, = generate_long_video(
            self.model, request.prompts if storyline else request.prompts[0],
            num_clips=None if storyline else request.num_clips, seed=request.seed,
            sampler_cfg=sampler, out_dir=out_dir, formats=('mp4',), storyline=storyline,
            fps=self.fps, callback=callback)
        return video.files['mp4'], video.num_frames

    # -- the page --------------------------------------------------------------------------------
    def build(self, title: str = 'vidrd: Reuse and Diffuse text-to-video'):
        """The Gradio Blocks of the page (queue: one request at a time)."""
        import gradio as gr
        params = [p for plist in self.strategies.values() for p in plist]
        with gr.Blocks(title=title, analytics_enabled=False) as page:
            gr.Markdown(f'# {title}\nOne line = one prompt for every clip; several lines = a '
                        'storyline, clip i follows line i. Long videos are made clip after clip '
                        '(FNR, PNS, DSG: VidRD Sec. 3.3).')
            with gr.Row():
                with gr.Column():
                    prompt = gr.Textbox(label='Prompt or storyline', lines=3,
                                        elem_id='prompt', placeholder='a red circle moving left')
                    with gr.Row():
                        clips = gr.Number(label='Clips', value=self.model.num_clips, precision=0,
                                          elem_id='num_clips')
                        seed = gr.Number(label='Seed', value=0, precision=0, elem_id='seed')
                    guidance = gr.Number(label='Guidance scale (1 = off)',
                                         value=self.sampler.guidance_scale, elem_id='guidance')
                    steps = gr.Slider(1, self.max_steps, step=1, label='DDIM steps',
                                      value=self.sampler.num_inference_steps, elem_id='steps')
                    with gr.Accordion('Long-video strategies', open=False):
                        prompt_frames = gr.Slider(
                            0, self.sampler.num_frames - 1, step=1,
                            value=self.sampler.num_prompt_frames, elem_id='prompt_frames',
                            label='M: prompt frames of each clip after the first')
                        enabled = gr.CheckboxGroup(
                            list(self.strategies), value=self.default_strategies(),
                            label='Strategies (in order; FNR, PNS, DSG = the full method)',
                            elem_id='strategies')
                        fields = []
                        for p in params:
                            value = self.default_value(p)
                            if isinstance(p.default, bool):
                                fields.append(gr.Checkbox(label=p.label, value=bool(value)))
                            else:
                                fields.append(gr.Number(label=p.label, value=value,
                                                        precision=0 if isinstance(p.default, int)
                                                        else None))
                    button = gr.Button('Generate', variant='primary', elem_id='generate')
                with gr.Column():
                    video = gr.Video(label='Video', elem_id='video', autoplay=True)
                    download = gr.File(label='Download mp4', elem_id='download')
                    status = gr.Markdown(elem_id='status')

            def run(prompt_text, num_clips, seed_value, guidance_scale, num_steps, m, names,
                    *values, progress=gr.Progress()):
                try:
                    request = self.parse_request(
                        prompt_text, num_clips, seed_value, guidance_scale, num_steps, m,
                        names, {(p.strategy, p.name): v for p, v in zip(params, values)})
                    if request.unknown_words:
                        gr.Warning('Unknown words (ignored by the model): '
                                   + ', '.join(request.unknown_words))
                    path, frames = self.generate(
                        request, lambda f, text: progress(f, desc=text))
                except Exception as err:  # noqa: BLE001 - user errors become a page message
                    message = user_error_message(err)
                    if message is None:
                        raise
                    raise gr.Error(message, print_exception=False) from None
                note = f'{frames} frames, {request.num_clips} clip(s), seed {request.seed}.'
                if request.unknown_words:
                    note += (' Warning: words unknown to the model, ignored: '
                             + ', '.join(request.unknown_words) + '.')
                return path, path, note

            button.click(run, [prompt, clips, seed, guidance, steps, prompt_frames, enabled,
                               *fields], [video, download, status], concurrency_limit=1)
        page.queue(default_concurrency_limit=1)
        return page


def launch_app(config: str, checkpoint: Optional[str] = None, port: int = 7860,
               share: bool = False, host: str = '127.0.0.1', sampler_config: Optional[str] = None,
               cfg_options: Optional[dict] = None, device: str = 'cpu',
               trust_pickle: bool = False, out_dir: Optional[str] = None,
               block: bool = True):
    """Load the model and serve the page; return the Gradio Blocks (already launched)."""
    from vidrd.apis.generate import load_generation_model
    check_value(0 < port < 65536, f'--port must be in 1..65535, got {port}')
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    model = load_generation_model(config, checkpoint, sampler_config, cfg_options,
                                  device=device, trust_pickle=trust_pickle)
    app = GenerationApp(model, out_dir=out_dir)
    page = app.build()
    get_logger().info(f'serving the vidrd app on http://{host}:{port}')
    page.launch(server_name=host, server_port=port, share=share, ssr_mode=False,
                allowed_paths=[app.out_dir], prevent_thread_lock=not block, quiet=not block)
    return page

"""A Gradio web app over the generation API (the logic behind ``tools/app.py``).

    python tools/app.py CONFIG [CHECKPOINT] [--port 7860] [--share false]

The page takes a prompt (one line: every clip follows it) or a storyline (several lines: clip i
follows line i), the number of clips, seed, guidance scale, steps and the long-video method:
every sampler registered in ``MODELS`` (a subclass of ``LongVideoSampler``: the paper's
clip-after-clip ``ReuseAndDiffuseSampler``, ``TemporalCoDenoisingSampler``,
``FIFODiffusionSampler``, a plugin's too), the model's own preselected. Each method offers the
numeric / boolean / text arguments of its constructor; the clip-after-clip sampler also takes
the prompt frames M and the long-video strategies with their parameters: every strategy
registered in ``LONG_VIDEO_STRATEGIES``, a plugin's included (its config's ``custom_imports``
loads it), each with the numeric / boolean arguments of its constructor. A progress bar follows
every denoising step; the result is an mp4 (played in the page, and offered as a download).
Requests are queued and run one at a time, so two users never run the model at once. Bad input
(an empty prompt, a value out of range, a prompt with no word the model's word tokenizer knows)
is answered by a message in the page; words the tokenizer does not know are named in a warning.
"""
import copy
import inspect
import os
import os.path as osp
import tempfile
import time
import typing
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from vidrd.utils.cli import user_error_message
from vidrd.utils.errors import InvalidValueError, UserError, check_value
from vidrd.utils.logging import get_logger

#: argument types a strategy's constructor may have that the page can edit
EDITABLE_TYPES = (bool, int, float)
#: ... and a method's (a sampler's): text too, e.g. co-denoising's ``weighting``
METHOD_EDITABLE_TYPES = (bool, int, float, str)


@dataclass
class StrategyParameter:
    """One editable constructor argument of a registered long-video strategy."""
    strategy: str
    name: str
    default: object

    @property
    def label(self) -> str:
        return f'{self.strategy}: {self.name}'


@dataclass
class MethodParameter:
    """One editable constructor argument of a registered long-video sampler (a method).

    Attributes:
        method: the sampler's registered type.
        name: the argument.
        default: the constructor's default (None for an optional number).
        kind: ``bool``, ``int``, ``float`` or ``str``.
        optional: None is allowed (an ``Optional[int]`` such as co-denoising's ``stride``): an
            empty field leaves the choice to the method.
    """
    method: str
    name: str
    default: object
    kind: type
    optional: bool = False

    @property
    def label(self) -> str:
        return f'{self.method}: {self.name}'


def registered_strategies() -> Dict[str, List[StrategyParameter]]:
    """Every registered long-video strategy (plugins' too) and its editable arguments.

    Returns:
        dict[str, list[StrategyParameter]]: registered name -> the constructor arguments with
        a bool / int / float default.
    """
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


def _signature_chain(cls):
    """``(named arguments, takes any keyword)`` of ``cls``'s constructor; a ``**kwargs`` that
    is passed on (a plugin's ``super().__init__(**kwargs)``) adds the parent's arguments."""
    named: Dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if klass is object or '__init__' not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        for arg in params:
            if arg.name != 'self' and arg.kind not in (arg.VAR_POSITIONAL, arg.VAR_KEYWORD):
                named.setdefault(arg.name, arg)
        if not any(arg.kind == arg.VAR_KEYWORD for arg in params):
            return named, False
    return named, True


def _constructor_arguments(cls) -> Dict[str, inspect.Parameter]:
    """The named arguments of ``cls.__init__`` (no ``self``, ``*args``, ``**kwargs``), with
    those of the parents it passes ``**kwargs`` on to."""
    return _signature_chain(cls)[0]


def _accepts_any_keyword(cls) -> bool:
    return _signature_chain(cls)[1]


def _uses_strategies(cls) -> bool:
    """Clip after clip with prompt frames M and strategies (the page's strategies section)."""
    from vidrd.models.long_video import ReuseAndDiffuseSampler
    return issubclass(cls, ReuseAndDiffuseSampler)


def _page_arguments(cls) -> set:
    """Constructor arguments the page sets from its shared fields (or leaves to the model), so
    they are not offered among the method's own: those of every sampler (frames, steps,
    guidance, progress, autocast), M and the strategies of the clip sampler, and FIFO's
    partitions (they only set the default steps f x n; the steps field gives the queue's
    length L itself)."""
    from vidrd.models.long_video import FIFODiffusionSampler, LongVideoSampler
    names = set(_constructor_arguments(LongVideoSampler))
    if _uses_strategies(cls):
        names |= {'num_prompt_frames', 'strategies'}
    if issubclass(cls, FIFODiffusionSampler):
        names.add('num_partitions')
    return names


def method_parameters(name: str, cls) -> List[MethodParameter]:
    """The editable constructor arguments of a sampler class.

    Those with a bool / int / float / str default, or an ``Optional[int]`` /
    ``Optional[float]`` one defaulting to None; not those the page sets from its shared fields.

    Args:
        name (str): the name ``cls`` is registered under.
        cls (type): a ``LongVideoSampler`` subclass.

    Returns:
        list[MethodParameter]: in the constructor's order (the parents' passed-on ones after).
    """
    hints: Dict[str, object] = {}
    for klass in cls.__mro__:  # the parents' too, for the arguments passed on to them
        if klass is not object and '__init__' in vars(klass):
            try:
                own = typing.get_type_hints(klass.__init__)
            except Exception:  # noqa: BLE001 - an unresolvable annotation: go by the default
                own = {}
            for arg_name, hint in own.items():
                hints.setdefault(arg_name, hint)
    skip = _page_arguments(cls)
    params = []
    for arg in _constructor_arguments(cls).values():
        if arg.name in skip:
            continue
        hint = hints.get(arg.name)
        if isinstance(arg.default, METHOD_EDITABLE_TYPES):
            # the annotation wins over the default's type (``weight: float = 2`` takes 2.5)
            kind = hint if hint in METHOD_EDITABLE_TYPES and not isinstance(arg.default, bool) \
                else type(arg.default)
            params.append(MethodParameter(name, arg.name, arg.default, kind))
        elif arg.default is None:
            options = [a for a in typing.get_args(hint) if a is not type(None)]
            if len(options) == 1 and options[0] in (int, float) \
                    and len(typing.get_args(hint)) == 2:
                params.append(MethodParameter(name, arg.name, None, options[0], optional=True))
    return params


def registered_methods() -> Dict[str, List[MethodParameter]]:
    """Every registered long-video sampler (a ``LongVideoSampler`` in ``MODELS``, plugins'
    too) and its editable arguments.

    Returns:
        dict[str, list[MethodParameter]]: registered name -> :func:`method_parameters`.
    """
    from vidrd.models.long_video import LongVideoSampler
    from vidrd.registry import MODELS
    MODELS.import_from_location()
    return {name: method_parameters(name, cls)
            for name, cls in sorted(MODELS.module_dict.items())
            if inspect.isclass(cls) and issubclass(cls, LongVideoSampler)}


def registered_name(registry, cls) -> str:
    """The name ``cls`` is registered under in ``registry`` (the ``type`` a config gives).

    Args:
        registry (mmengine.registry.Registry): e.g. ``MODELS`` or ``LONG_VIDEO_STRATEGIES``.
        cls (type): a registered class.

    Returns:
        str: its registered name; the class's own name when it is not registered there.
    """
    return next((name for name, registered in registry.module_dict.items() if registered is cls),
                cls.__name__)


def sampler_config(sampler, built_with: Optional[dict] = None) -> dict:
    """The config that rebuilds ``sampler``.

    Every constructor argument is read back from the attribute of its name, then the entries
    of the config it was built with (``built_with``, when it builds the same class or names
    none) are laid over them: they hold what the attributes may not (a plugin storing an
    argument under another name). A constructor argument added later is thus carried over,
    never silently reset to its default.

    Args:
        sampler (LongVideoSampler): a built sampler.
        built_with (dict, optional): the config it was built with. Defaults to None.

    Returns:
        dict: the config, ``type`` its registered name in ``MODELS``.
    """
    from vidrd.registry import MODELS
    cfg = dict(type=registered_name(MODELS, type(sampler)))
    for name in _constructor_arguments(type(sampler)):
        if hasattr(sampler, name):
            cfg[name] = getattr(sampler, name)
    if built_with:
        built_with = copy.deepcopy(built_with.to_dict() if hasattr(built_with, 'to_dict')
                                   else dict(built_with))
        if 'type' not in built_with or MODELS.get(built_with['type']) is type(sampler):
            cfg.update((k, v) for k, v in built_with.items() if k != 'type')
    return cfg


@dataclass
class GenerationRequest:
    """What one click of "Generate" asks for, validated."""
    prompts: List[str]          # one prompt, or a storyline (one per clip)
    num_clips: int
    seed: int
    guidance_scale: float
    num_inference_steps: int
    num_prompt_frames: int      # the clip sampler's M (0 for other methods)
    strategies: List[dict]      # strategy configs, in the page's order (clip sampler only)
    unknown_words: List[str]
    method: Optional[str] = None  # the sampler's registered type (None: the model's own)
    method_args: Dict[str, object] = field(default_factory=dict)  # its own arguments


class GenerationApp:
    """The page's logic, independent of Gradio (so it can be tested and reused).

    Args:
        model: a VidRD model (``load_generation_model``), in eval mode.
        out_dir: where each request's mp4 goes (a fresh temporary folder by default).
        fps: frame rate of the mp4.
        max_clips / max_steps: limits of the page's inputs.
        sampler_cfg: the config the model's sampler was built with (``model.long_video_sampler``
            of its config; ``launch_app`` passes it); default: read back from the sampler.
    """

    def __init__(self, model, out_dir: Optional[str] = None, fps: float = 8,
                 max_clips: int = 16, max_steps: int = 200,
                 sampler_cfg: Optional[dict] = None):
        self.model = model
        self.sampler = model.sampler
        self.sampler_cfg = sampler_config(self.sampler, sampler_cfg)
        self.out_dir = out_dir or tempfile.mkdtemp(prefix='vidrd_app_')
        self.fps = fps
        self.max_clips, self.max_steps = max_clips, max_steps
        self.strategies = registered_strategies()
        self.methods = registered_methods()
        self._requests = 0

    # -- defaults shown in the page --------------------------------------------------------------
    @property
    def default_method(self) -> str:
        """str: the registered type of the model's own sampler."""
        from vidrd.registry import MODELS
        return registered_name(MODELS, type(self.sampler))

    def default_strategies(self) -> List[str]:
        """The registered types of the model's own sampler's strategies, in its order.

        Returns:
            list[str]: names of ``LONG_VIDEO_STRATEGIES`` (empty for a sampler without any).
        """
        from vidrd.registry import LONG_VIDEO_STRATEGIES
        return [registered_name(LONG_VIDEO_STRATEGIES, type(s))
                for s in getattr(self.sampler, 'strategies', ())]

    def default_value(self, param: StrategyParameter):
        """The model's own setting of a strategy argument, else the constructor's default.

        Args:
            param (StrategyParameter): the argument.

        Returns:
            the value of that argument of the model's strategy of exactly that class (a
            subclass may mean another thing by it), else ``param.default``.
        """
        from vidrd.registry import LONG_VIDEO_STRATEGIES
        cls = LONG_VIDEO_STRATEGIES.get(param.strategy)
        for strategy in getattr(self.sampler, 'strategies', ()):
            if type(strategy) is cls and hasattr(strategy, param.name):
                return getattr(strategy, param.name)
        return param.default

    def default_method_value(self, param: MethodParameter):
        """The model's sampler's setting of a method argument when it is that method, else the
        constructor's default.

        Args:
            param (MethodParameter): the argument.

        Returns:
            its value in the model's sampler config, else ``param.default``.
        """
        if param.method == self.default_method and param.name in self.sampler_cfg:
            return self.sampler_cfg[param.name]
        return param.default

    def method_class(self, method: str) -> type:
        """The sampler class registered in ``MODELS`` as ``method`` (None when none is)."""
        from vidrd.registry import MODELS
        return MODELS.get(method)

    def method_config(self, method: str) -> dict:
        """What a request for ``method`` starts from: the model's sampler's config when it is
        that method; else the method's defaults with the model's clip length N and autocast
        (the ``--amp`` of the tools).

        Args:
            method (str): a registered sampler name.

        Returns:
            dict: a sampler config (with ``type``).
        """
        if method == self.default_method:
            return dict(self.sampler_cfg)
        cls = self.method_class(method)
        cfg = dict(type=method, num_frames=self.sampler.num_frames)
        if self.sampler.autocast_dtype is not None and (
                'autocast_dtype' in _constructor_arguments(cls) or _accepts_any_keyword(cls)):
            cfg['autocast_dtype'] = self.sampler.autocast_dtype
        return cfg

    @property
    def tokenizer(self):
        return getattr(getattr(self.model, 'text_encoder', None), 'tokenizer', None)

    # -- validation ------------------------------------------------------------------------------
    def parse_request(self, prompt_text: str, num_clips, seed, guidance_scale, steps,
                      num_prompt_frames, enabled: Sequence[str],
                      values: Dict[Tuple[str, str], object], method: Optional[str] = None,
                      method_values: Optional[Dict[Tuple[str, str], object]] = None
                      ) -> GenerationRequest:
        """Check the page's inputs; raise :class:`UserError` with the message to show.

        ``values`` holds the strategies' arguments by ``(strategy, argument)``,
        ``method_values`` the method's by ``(method, argument)`` (a missing one takes the
        model's setting, or the constructor's default); ``method`` defaults to the model's.
        """
        method = method or self.default_method
        if method not in self.methods:
            raise InvalidValueError(f'Unknown method {method!r}: choose one of '
                                    f'{", ".join(self.methods)}.')
        cls = self.method_class(method)
        clip_sampler = _uses_strategies(cls)
        prompts = [line.strip() for line in (prompt_text or '').splitlines() if line.strip()]
        if not prompts:
            raise UserError('Enter a prompt (one line), or a storyline (one line per clip).')
        fields = [('clips', num_clips), ('seed', seed), ('steps', steps)]
        if clip_sampler:
            fields.append(('prompt frames M', num_prompt_frames))
        for name, value in fields + [('guidance scale', guidance_scale)]:
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
        if clip_sampler:
            num_frames = self.method_config(method).get('num_frames', self.sampler.num_frames)
            check_value(float(num_prompt_frames).is_integer()
                        and 0 <= num_prompt_frames < num_frames,
                        f'Prompt frames M must be a whole number from 0 to {num_frames - 1} '
                        f'(a clip has {num_frames} frames), got {num_prompt_frames}.')
        unknown = self._check_words(prompts)
        strategies = []
        for name in (enabled or ()) if clip_sampler else ():
            if name not in self.strategies:
                raise InvalidValueError(f'Unknown strategy {name!r}.')
            args = {p.name: values.get((name, p.name), p.default) for p in self.strategies[name]}
            for p in self.strategies[name]:
                if isinstance(p.default, bool):
                    args[p.name] = bool(args[p.name])
                elif args[p.name] is None:
                    raise InvalidValueError(f'Give a value for {p.label}.')
            strategies.append(dict(type=name, **args))
        method_args = self._method_arguments(method, method_values or {})
        return GenerationRequest(prompts, num_clips, int(seed), float(guidance_scale),
                                 int(steps), int(num_prompt_frames) if clip_sampler else 0,
                                 strategies, unknown, method, method_args)

    def _method_arguments(self, method: str,
                          values: Dict[Tuple[str, str], object]) -> Dict[str, object]:
        """The checked values of the method's own arguments."""
        args = {}
        for p in self.methods[method]:
            value = values.get((method, p.name), self.default_method_value(p))
            if p.kind is bool:
                value = bool(value)
            elif p.kind is str:
                value = '' if value is None else str(value).strip()
                if not value:
                    raise InvalidValueError(f'Give a value for {p.label}.')
            elif value is None or value != value:  # empty field or NaN
                if not p.optional:
                    raise InvalidValueError(f'Give a value for {p.label}.')
                value = None  # the method decides
            elif p.kind is int:
                check_value(float(value).is_integer(),
                            f'{p.label} must be a whole number, got {value}.')
                value = int(value)
            else:
                value = float(value)
            args[p.name] = value
        return args

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
        """The request's sampler, built from ``dict(base, **overrides)``.

        The base is the model's sampler config when it is that method (every other setting
        kept, a constructor argument added later included), else the method's defaults
        (:meth:`method_config`); the overrides are the request's steps, guidance, its method's
        arguments and, for the clip sampler, M and the strategies.

        Args:
            request (GenerationRequest): from :meth:`parse_request`.

        Returns:
            LongVideoSampler: a new sampler (the model's own is left as it is).
        """
        from vidrd.apis.generate import build_sampler
        method = request.method or self.default_method
        cls = self.method_class(method)
        base = self.method_config(method)
        overrides = dict(request.method_args, num_inference_steps=request.num_inference_steps,
                         guidance_scale=request.guidance_scale, progress=False)
        if _uses_strategies(cls):
            overrides.update(num_prompt_frames=request.num_prompt_frames,
                             strategies=request.strategies)
        if not _accepts_any_keyword(cls):  # a plugin without one of the shared arguments
            accepted = _constructor_arguments(cls)
            overrides = {k: v for k, v in overrides.items() if k in accepted}
        return build_sampler(dict(base, **overrides))

    def generate(self, request: GenerationRequest, progress=None) -> Tuple[str, int]:
        """Generate the request's video.

        Args:
            request (GenerationRequest): from :meth:`parse_request`.
            progress (callable, optional): ``progress(fraction, description)``, called after
                every denoising step: "clip i/K, DDIM step s/S" for a clip sampler, "step s/S"
                for a method that reports its steps as one clip (co-denoising,
                FIFO-Diffusion). Defaults to None.

        Returns:
            tuple[str, int]: the mp4's path and its number of frames.
        """
        from vidrd.apis.generate import generate_long_video
        sampler = self.build_request_sampler(request)
        by_clips = _uses_strategies(type(sampler))
        self._requests += 1
        out_dir = osp.join(self.out_dir, f'{self._requests:04d}_{int(time.time())}')

        def callback(clip, step, num_clips, num_steps):
            if progress is None:
                return
            done = (clip * num_steps + step + 1) / (num_clips * num_steps)
            if num_clips == 1 and (request.num_clips > 1 or not by_clips):
                progress(done, f'step {step + 1}/{num_steps}')
            else:
                progress(done, f'clip {clip + 1}/{num_clips}, DDIM step {step + 1}/{num_steps}')

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
        method_params = [p for plist in self.methods.values() for p in plist]
        by_clips = {name: _uses_strategies(self.method_class(name)) for name in self.methods}
        shown = self.default_method

        def visibility(visible: bool):
            return True if visible else 'hidden'  # hidden, not removed: the values stay

        with gr.Blocks(title=title, analytics_enabled=False) as page:
            gr.Markdown(f'# {title}\nOne line = one prompt for every clip; several lines = a '
                        'storyline, clip i follows line i. Method: ReuseAndDiffuseSampler makes '
                        'long videos clip after clip (FNR, PNS, DSG: VidRD Sec. 3.3); '
                        'TemporalCoDenoisingSampler denoises overlapping windows of the whole '
                        'video; FIFODiffusionSampler a queue of frames at rising noise.')
            with gr.Row():
                with gr.Column():
                    prompt = gr.Textbox(label='Prompt or storyline', lines=3,
                                        elem_id='prompt', placeholder='a red circle moving left')
                    method = gr.Dropdown(list(self.methods), value=shown, label='Method',
                                         elem_id='method',
                                         info='only the chosen method\'s settings are used')
                    with gr.Row():
                        clips = gr.Number(label='Clips', value=self.model.num_clips, precision=0,
                                          elem_id='num_clips')
                        seed = gr.Number(label='Seed', value=0, precision=0, elem_id='seed')
                    guidance = gr.Number(label='Guidance scale (1 = off)',
                                         value=self.sampler.guidance_scale, elem_id='guidance')
                    steps = gr.Slider(1, self.max_steps, step=1, label='DDIM steps',
                                      value=self.sampler.num_inference_steps, elem_id='steps',
                                      info='per clip; FIFODiffusionSampler: per frame (the '
                                           'queue\'s length)')
                    with gr.Accordion('Long-video strategies (clip after clip)', open=False,
                                      visible=visibility(by_clips[shown]),
                                      elem_id='clip_settings') as strategy_box:
                        prompt_frames = gr.Slider(
                            0, self.sampler.num_frames - 1, step=1,
                            value=self.sampler.num_prompt_frames, elem_id='prompt_frames',
                            label='M: prompt frames of each clip after the first')
                        enabled = gr.CheckboxGroup(
                            list(self.strategies), value=self.default_strategies(),
                            label='Strategies (in order; FNR, PNS, DSG = the full method)',
                            elem_id='strategies')
                        fields = [self._field(gr, p.label, self.default_value(p), type(p.default))
                                  for p in params]
                    boxes, method_fields = {}, []
                    for name, plist in self.methods.items():
                        if not plist:
                            continue
                        with gr.Accordion(f'{name} settings', open=False,
                                          visible=visibility(name == shown),
                                          elem_id=f'{name}_settings') as box:
                            method_fields += [
                                self._field(gr, p.label, self.default_method_value(p), p.kind,
                                            p.optional) for p in plist]
                        boxes[name] = box
                    button = gr.Button('Generate', variant='primary', elem_id='generate')
                with gr.Column():
                    video = gr.Video(label='Video', elem_id='video', autoplay=True)
                    download = gr.File(label='Download mp4', elem_id='download')
                    status = gr.Markdown(elem_id='status')

            def show_method(name):
                return [gr.Accordion(visible=visibility(by_clips.get(name, False)))] + [
                    gr.Accordion(visible=visibility(key == name)) for key in boxes]

            def clear_status():
                return ''

            def run(prompt_text, num_clips, seed_value, guidance_scale, num_steps, method_name,
                    m, names, *values, progress=gr.Progress()):
                strategy_values, own_values = values[:len(params)], values[len(params):]
                try:
                    request = self.parse_request(
                        prompt_text, num_clips, seed_value, guidance_scale, num_steps, m,
                        names, {(p.strategy, p.name): v for p, v in zip(params, strategy_values)},
                        method=method_name, method_values={
                            (p.method, p.name): v for p, v in zip(method_params, own_values)})
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
                note = (f'{frames} frames, {request.num_clips} clip(s), seed {request.seed}'
                        + ('.' if request.method == self.default_method
                           else f', {request.method}.'))
                if request.unknown_words:
                    note += (' Warning: words unknown to the model, ignored: '
                             + ', '.join(request.unknown_words) + '.')
                return path, path, note

            method.change(show_method, method, [strategy_box, *boxes.values()], queue=False,
                          show_progress='hidden', api_visibility='private')
            # the status is cleared first: after an error it must not show the last run's text
            button.click(clear_status, None, status, queue=False, show_progress='hidden',
                         api_visibility='private').then(
                run, [prompt, clips, seed, guidance, steps, method, prompt_frames, enabled,
                      *fields, *method_fields], [video, download, status], concurrency_limit=1)
        page.queue(default_concurrency_limit=1)
        return page

    @staticmethod
    def _field(gr, label: str, value, kind: type, optional: bool = False):
        """The input of one constructor argument."""
        if kind is bool:
            return gr.Checkbox(label=label, value=bool(value))
        if kind is str:
            return gr.Textbox(label=label, value='' if value is None else str(value))
        return gr.Number(label=label, value=value, precision=0 if kind is int else None,
                         info='empty: the method decides' if optional else None)


def launch_app(config: str, checkpoint: Optional[str] = None, port: int = 7860,
               share: bool = False, host: str = '127.0.0.1', sampler_config: Optional[str] = None,
               cfg_options: Optional[dict] = None, device: str = 'cpu',
               trust_pickle: bool = False, out_dir: Optional[str] = None,
               block: bool = True):
    """Load the model and serve the page; return the Gradio Blocks (already launched).

    ``sampler_config`` (and ``cfg_options``) set the model's sampler, the method the page
    preselects."""
    from vidrd.apis.generate import load_generation_config, load_generation_model
    check_value(0 < port < 65536, f'port must be in 1..65535, got {port}', 'port')
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    cfg = load_generation_config(config, sampler_config, cfg_options)
    model = load_generation_model(cfg, checkpoint, device=device, trust_pickle=trust_pickle)
    app = GenerationApp(model, out_dir=out_dir,
                        sampler_cfg=cfg.model.get('long_video_sampler'))
    page = app.build()
    get_logger().info(f'serving the vidrd app on http://{host}:{port}')
    page.launch(server_name=host, server_port=port, share=share, ssr_mode=False,
                allowed_paths=[app.out_dir], prevent_thread_lock=not block, quiet=not block)
    return page

"""The training loop and test mode of `contextual-choice.py` (spec 6.1), for one
or many agents side by side.

Per epoch: sample the task's 2n trials (n new, then the same n permuted), flush
the DND, then for each trial draw h0, c0 ~ N(0, scale^2) and the sampling noise,
run the compiled trial (write at its last step only for phase-1 trials; read at
every step), and take one Adam step. The original's per-epoch line follows.

Random streams, per agent of seed s: the task draws from `RandomState(s)` (the
original's `np.random.seed(s)` stream, so stimuli are the original's bit for
bit), h0 / c0 and the action noise from `numpy_stream(s, MODEL)`, drawn just
before each trial. Checkpoints hold the weights, Adam's slots, the trial count,
the DND, both streams, the task stream as it was at the start of the current
epoch (a run resumed mid-epoch re-samples that epoch's stimuli from it) and the
per-trial logs, so a resumed run continues exactly where it stopped.
"""
import os
import time

import numpy as np
import tensorflow as tf

from common import seeding, visualize
from common.checkpoint import (ArraysState, CheckpointError, CheckpointKeeper, NumpyRNGStates,
                               SaveSchedule, StopOnInterrupt)
from common.logs import OutputError, Progress, ResultsFile, Summaries, format_duration
from dnd_lstm import figures
from dnd_lstm.model.agent import Agent
from dnd_lstm.task.contextual_choice import ContextualChoice

LOG_FIELDS = ('returns', 'loss_value', 'loss_policy', 'actions', 'targets')


class TrainingDivergedError(RuntimeError):
  """The loss became NaN or infinite; the last finite checkpoint is kept."""


class Trainer:
  """Args:
    args: the parsed constants (see constants.py).
    logger: from `common.logs.setup_logger`.
    run_config: the architecture settings stored in checkpoints.
    settings: every setting (warned about when a resumed run changes one).
  """

  def __init__(self, args, logger, run_config, settings):
    self.args, self.logger = args, logger
    self.seeds = [args.SEED + b for b in range(args.N_AGENTS)]
    self.dtype = tf.float64 if args.DTYPE == 'float64' else tf.float32
    self.n_trials = 2 * args.N_UNIQUE_EXAMPLE
    self.task_rngs = [np.random.RandomState(seed) for seed in self.seeds]
    self.epoch_start_rngs = [np.random.RandomState(seed) for seed in self.seeds]
    self.model_rngs = [seeding.numpy_stream(seed, seeding.MODEL) for seed in self.seeds]
    self.tasks = [ContextualChoice(args.OBS_DIM, args.TRIAL_LENGTH, args.T_NOISE_OFF, rng)
                  for rng in self.task_rngs]
    self.agent = Agent(2 * args.OBS_DIM, args.DIM_HIDDEN, args.DIM_OUTPUT, args.DICT_LEN,
                       self.seeds, kernel=args.KERNEL, policy=args.POLICY, k=args.KNN_K,
                       delta=args.KNN_DELTA, eviction=args.EVICTION,
                       learning_rate=args.LEARNING_RATE, adam_eps=args.ADAM_EPS,
                       gamma=args.GAMMA, normalize_returns=args.NORMALIZE_RETURNS,
                       beta=args.BETA, two_biases=args.TWO_BIASES, dtype=self.dtype,
                       jit_compile=args.JIT_COMPILE)
    self.logs = ArraysState(**self._empty_logs(0))
    self.keeper = CheckpointKeeper(
        args.CHECKPOINT_DIR, run_config, args.MAX_KEEP_CHECKPOINTS, logger=logger,
        restart=args.RESTART and args.MODE == 'train', settings=settings,
        agent=self.agent, task_rngs=NumpyRNGStates(self.task_rngs),
        epoch_start_rngs=NumpyRNGStates(self.epoch_start_rngs),
        model_rngs=NumpyRNGStates(self.model_rngs), logs=self.logs)
    logger.info(f'DND-LSTM agents: seeds {self.seeds[0]}..{self.seeds[-1]} | '
                f'{self.agent.parameter_count()} trainable parameters each | DND {args.DICT_LEN} '
                f'entries, kernel {args.KERNEL}, {args.POLICY}, {args.EVICTION}')

  # -- data -------------------------------------------------------------------
  def _empty_logs(self, epochs):
    b, m, t = len(self.seeds), self.n_trials, self.args.TRIAL_LENGTH
    return dict(returns=np.zeros([b, epochs, m], np.float32),
                loss_value=np.zeros([b, epochs, m], np.float32),
                loss_policy=np.zeros([b, epochs, m], np.float32),
                actions=np.zeros([b, epochs, m, t], np.int16),
                targets=np.zeros([b, epochs, m], np.int8))

  def _sample_epoch(self, tasks):
    """(x `[B, M, T, Dx]` in the model's dtype, targets `[B, M, T]` int32, x float64)."""
    samples = [task.sample(self.args.N_UNIQUE_EXAMPLE) for task in tasks]
    x = np.stack([s[0] for s in samples])
    y = np.stack([s[1][..., 0] for s in samples]).astype(np.int32)
    return x.astype(self.dtype.as_numpy_dtype), y, x

  def _trial_noise(self, rngs):
    """h0, c0 `[B, H]` ~ N(0, scale^2) and uniforms `[B, T]`, each agent from its stream."""
    h, scale, t = self.args.DIM_HIDDEN, self.args.INIT_STATE_SCALE, self.args.TRIAL_LENGTH
    h0, c0, uniform = [], [], []
    for rng in rngs:
      h0.append(rng.normal(size=h) * scale)
      c0.append(rng.normal(size=h) * scale)
      uniform.append(rng.uniform(size=t))
    cast = lambda a: tf.constant(np.array(a), self.dtype)
    return cast(h0), cast(c0), cast(uniform)

  def _run(self, function, x, y, m, rngs, retrieval_on, encoding_on):
    h0, c0, uniform = self._trial_noise(rngs)
    b, t = len(self.seeds), self.args.TRIAL_LENGTH
    encode = tf.constant(bool(encoding_on and m < self.args.N_UNIQUE_EXAMPLE))
    return function(tf.constant(x[:, m]), tf.constant(y[:, m]), h0, c0, uniform,
                    tf.zeros([b, t], tf.int32), tf.constant(False), encode,
                    tf.constant(bool(retrieval_on)))

  # -- training ---------------------------------------------------------------
  def fit(self):
    args, log = self.args, self.logger
    step = self.keeper.restore()
    if step is None:
      step = 0
      log.info('No checkpoint; training from scratch.')
    else:
      log.info(f'Resumed at trial {step} (epoch {step // self.n_trials}, trial '
               f'{step % self.n_trials}) from {self.keeper.latest}')
    total = args.N_EPOCHS * self.n_trials
    logs = self.logs.arrays
    if logs['returns'].shape[1] < args.N_EPOCHS:  # room for every epoch of this run
      grown = self._empty_logs(args.N_EPOCHS)
      done = logs['returns'].shape[1]
      for name in LOG_FIELDS:
        grown[name][:, :done] = logs[name]
      self.logs.arrays = logs = grown
    # One record per epoch, its `step` the trials done at its end.
    results = ResultsFile(os.path.join(args.CHECKPOINT_DIR, 'results.jsonl'), step, log)
    summaries = Summaries(args.CHECKPOINT_DIR)
    progress = Progress(step, total, self.n_trials)
    saving = SaveSchedule(args.SAVE_INTERVAL, args.SAVE_INTERVAL_MINUTES)
    self.saved_step = step
    start = time.perf_counter()
    x = y = None
    with StopOnInterrupt() as interrupt:
      try:
        while step < total and not interrupt.requested:
          epoch, m = divmod(step, self.n_trials)
          if m == 0 or x is None:
            x, y, x64 = self._begin_epoch(resumed=m > 0)
            epoch_start, traces = time.perf_counter(), {}
            vis_trials = self._vis_trials(x64) if self._vis_due(epoch) else None
          result = self._run(self.agent.train_trial, x, y, m, self.model_rngs,
                             not args.RETRIEVAL_OFF, not args.ENCODING_OFF)
          self._log_trial(logs, epoch, m, result, y)
          if vis_trials is not None and any(m in own for own in vis_trials):
            traces[m] = {name: value.numpy() for name, value in result.trace._asdict().items()}
          step += 1
          if args.VERBOSE:
            log.debug(f'trial {step}: return {logs["returns"][:, epoch, m].tolist()}, loss '
                      f'{(logs["loss_value"][:, epoch, m] + logs["loss_policy"][:, epoch, m]).tolist()}')
          if progress.due(step) == 'time':
            log.info(progress.line(step, 'time'))
          epoch_done = step % self.n_trials == 0
          if epoch_done:
            self._end_epoch(epoch, logs, results, summaries, time.perf_counter() - epoch_start)
          if (epoch_done and not args.SAVE_INTERVAL) or saving.due(step):
            self._save(step)
            saving.saved()
          if epoch_done and vis_trials is not None:
            self._visualize(epoch, x64, y, logs, traces, vis_trials)
      except OutputError:
        self._save_unsaved(step)  # the error ends the run after progress is saved
        raise
      self._save_unsaved(step)
      if interrupt.requested:
        log.info(f'Interrupted at trial {step}; checkpoint saved, run again to resume.')
    log.info(f'total time: {format_duration(time.perf_counter() - start)}')
    return step

  def _begin_epoch(self, resumed):
    """The epoch's stimuli; a resumed epoch re-samples them from the task streams'
    state at its start (its DND and noise streams come from the checkpoint)."""
    if resumed:
      for rng, start in zip(self.task_rngs, self.epoch_start_rngs):
        rng.set_state(start.get_state())
    else:
      for rng, start in zip(self.task_rngs, self.epoch_start_rngs):
        start.set_state(rng.get_state())
      self.agent.dnd.reset_memory()
    return self._sample_epoch(self.tasks)

  def _log_trial(self, logs, epoch, m, result, y):
    losses = result.loss_value.numpy(), result.loss_policy.numpy()
    if not (np.all(np.isfinite(losses[0])) and np.all(np.isfinite(losses[1]))):
      raise TrainingDivergedError(
          f'the loss became non-finite at epoch {epoch}, trial {m}; stopped without saving, the '
          f'last finite checkpoint ({self.keeper.latest or "none"}) is kept')
    logs['returns'][:, epoch, m] = result.trace.reward.numpy().sum(axis=1)
    logs['loss_value'][:, epoch, m], logs['loss_policy'][:, epoch, m] = losses
    logs['actions'][:, epoch, m] = result.trace.action.numpy()
    logs['targets'][:, epoch, m] = y[:, m, 0]

  def _end_epoch(self, epoch, logs, results, summaries, seconds):
    ret, val, pol = (logs[name][:, epoch].mean(axis=1) for name in
                     ('returns', 'loss_value', 'loss_policy'))
    for b, seed in enumerate(self.seeds):
      tag = f'seed {seed} | ' if len(self.seeds) > 1 else ''
      self.logger.info(f'{tag}Epoch {epoch:3d} | return = {ret[b]:.2f} | loss: val = {val[b]:.2f}'
                       f', pol = {pol[b]:.2f} | time = {seconds:.2f}')
    if len(self.seeds) > 1:
      self.logger.info(f'all {len(self.seeds)} seeds | Epoch {epoch:3d} | return = '
                       f'{ret.mean():.2f} (sd {ret.std():.2f})')
    results.append({'step': (epoch + 1) * self.n_trials, 'epoch': epoch, 'seconds': round(seconds, 3),
                    'seeds': self.seeds, 'return': ret.tolist(), 'loss_value': val.tolist(),
                    'loss_policy': pol.tolist()})
    summaries.scalars(epoch, return_mean=float(ret.mean()), loss_value=float(val.mean()),
                      loss_policy=float(pol.mean()))

  def _save_unsaved(self, step):
    if step != self.saved_step:
      self._save(step)

  def _save(self, step):
    path = self.keeper.save(step)
    self.saved_step = step
    self.logger.info(f'Saved checkpoint at trial {step}: {path}')

  # -- figures ----------------------------------------------------------------
  def _vis_due(self, epoch):
    args = self.args
    if not args.VISUALIZE:
      return False
    last = epoch == args.N_EPOCHS - 1
    return last or bool(args.SAVE_VIS_INTERVAL and (epoch + 1) % args.SAVE_VIS_INTERVAL == 0)

  def _vis_trials(self, x64):
    """Per agent, its first VIS_TRIALS phase-1 trials and their repeats."""
    n = min(self.args.VIS_TRIALS, self.args.N_UNIQUE_EXAMPLE)
    out = []
    for stimuli in x64:
      repeats = figures.repeat_of(stimuli, self.args.N_UNIQUE_EXAMPLE)
      out.append(tuple(range(n)) + tuple(int(r) for r in repeats[:n]))
    return out

  def _figure_settings(self):
    return {name: getattr(self.args, name) for name in (
        'N_UNIQUE_EXAMPLE', 'OBS_DIM', 'T_NOISE_OFF', 'KERNEL', 'N_SE', 'VIS_TRIALS')}

  def _visualize(self, epoch, x64, y, logs, traces, vis_trials, directory=None, history=True):
    """Every agent's figures for `epoch` into `<directory>/seed<s>/`."""
    directory = directory or visualize.step_dir(self.args.CHECKPOINT_DIR, epoch)
    keys, values = (a.numpy() for a in self.agent.dnd.get_all_mems())
    summaries = []
    for b, seed in enumerate(self.seeds):
      folder = os.path.join(directory, f'seed{seed}')
      data = dict(x=x64[b], targets=y[b, :, 0], actions=logs['actions'][b, epoch],
                  keys=keys[b], values=values[b])
      own = {m: {name: value[b] for name, value in traces[m].items()} for m in vis_trials[b]
             if m in traces}  # a run resumed mid-epoch lacks the earlier trials
      curves = ((logs['returns'][b, :epoch + 1].mean(-1), logs['loss_value'][b, :epoch + 1].mean(-1))
                if history else None)
      summaries.append(figures.write_all(folder, data, self._figure_settings(), own, curves))
    self.logger.info(f'Figures of epoch {epoch}: {directory}')
    return summaries

  # -- test mode --------------------------------------------------------------
  def test(self):
    """Loads the latest checkpoint and runs one epoch of fresh test trials with
    learning off, then the same trials with retrieval off (the control)."""
    args, log = self.args, self.logger
    step = self.keeper.restore(train=False)
    if step is None:
      raise CheckpointError(f'no checkpoint in {args.CHECKPOINT_DIR!r} to test; train first '
                            '(--mode=train) or pass --checkpoint_dir')
    log.info(f'Loaded {self.keeper.latest} (trial {step}); testing with learning off')
    directory = visualize.step_dir(args.CHECKPOINT_DIR, step // self.n_trials, prefix='test_')
    out = {}
    for name, retrieval_on in (('test', not args.RETRIEVAL_OFF), ('retrieval_off', False)):
      tasks = [ContextualChoice(args.OBS_DIM, args.TRIAL_LENGTH, args.T_NOISE_OFF,
                                seeding.numpy_stream(seed, seeding.TEST)) for seed in self.seeds]
      rngs = [seeding.numpy_stream(seed, seeding.TEST, 1) for seed in self.seeds]
      x, y, x64 = self._sample_epoch(tasks)
      self.agent.dnd.reset_memory()
      logs = self._empty_logs(1)
      vis = self._vis_trials(x64) if args.VISUALIZE else []
      traces = {}
      for m in range(self.n_trials):
        result = self._run(self.agent.run_trial, x, y, m, rngs, retrieval_on,
                           not args.ENCODING_OFF)
        self._log_trial(logs, 0, m, result, y)
        if any(m in own for own in vis):
          traces[m] = {k: v.numpy() for k, v in result.trace._asdict().items()}
      ret = logs['returns'][:, 0].mean(axis=1)
      acc = [figures.analysis.accuracy_by_time(logs['actions'][b, 0], y[b, :, 0],
                                               args.N_UNIQUE_EXAMPLE) for b in range(len(ret))]
      t0 = [a['repeated'][0][0] for a in acc]
      first = [a['first'][0][:args.T_NOISE_OFF].mean() for a in acc]
      for b, seed in enumerate(self.seeds):
        log.info(f'{name} | seed {seed} | return = {ret[b]:.2f} | repeated t=0 accuracy = '
                 f'{t0[b]:.2f} | first presentations t<{args.T_NOISE_OFF} = {first[b]:.2f}')
      if args.VISUALIZE:
        folder = directory if name == 'test' else os.path.join(directory, 'retrieval_off')
        self._visualize(0, x64, y, logs, traces, vis, directory=folder, history=False)
      out[name] = dict(returns=ret, repeated_t0=np.array(t0), first_before_noise_off=np.array(first))
    log.info(f'Test figures: {directory}')
    return out

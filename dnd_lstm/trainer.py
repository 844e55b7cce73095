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
import collections
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
# One epoch's data: numpy stimuli x `[B, M, T, Dx]` (float64) and targets y `[B, M, T]`,
# and per trial m the tensors the compiled trial takes.
Epoch = collections.namedtuple('Epoch', ('x', 'y', 'x_trials', 'y_trials', 'h0', 'c0', 'uniform'))


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
    self.epoch_start_model_rngs = [seeding.numpy_stream(seed, seeding.MODEL) for seed in self.seeds]
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
    self._true, self._false = tf.constant(True), tf.constant(False)
    self._no_actions = tf.zeros([len(self.seeds), args.TRIAL_LENGTH], tf.int32)
    self.keeper = CheckpointKeeper(
        args.CHECKPOINT_DIR, run_config, args.MAX_KEEP_CHECKPOINTS, logger=logger,
        restart=args.RESTART and args.MODE == 'train', settings=settings,
        agent=self.agent, task_rngs=NumpyRNGStates(self.task_rngs),
        epoch_start_rngs=NumpyRNGStates(self.epoch_start_rngs),
        model_rngs=NumpyRNGStates(self.model_rngs),
        epoch_start_model_rngs=NumpyRNGStates(self.epoch_start_model_rngs), logs=self.logs)
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

  def _sample_epoch(self, tasks, noise_rngs):
    """One epoch's stimuli and noise, drawn at its start: `Epoch` (numpy x float64
    `[B, M, T, Dx]` and targets `[B, M, T]`, and per trial the tensors of x, y, h0,
    c0 and the sampling uniforms). Each agent's noise stream draws h0 and c0
    `[M, 2, H]` ~ N(0, scale^2), then uniforms `[M, T]`."""
    args = self.args
    samples = [task.sample(args.N_UNIQUE_EXAMPLE) for task in tasks]
    x = np.stack([s[0] for s in samples])
    y = np.stack([s[1][..., 0] for s in samples]).astype(np.int32)
    states, uniform = [], []
    for rng in noise_rngs:
      states.append(rng.normal(size=(self.n_trials, 2, args.DIM_HIDDEN)) * args.INIT_STATE_SCALE)
      uniform.append(rng.uniform(size=(self.n_trials, args.TRIAL_LENGTH)))
    per_trial = lambda a, dtype: tf.unstack(tf.constant(np.swapaxes(a, 0, 1), dtype))
    states = np.stack(states)                                      # [B, M, 2, H]
    return Epoch(x, y, per_trial(x, self.dtype), per_trial(y, tf.int32),
                 per_trial(states[:, :, 0], self.dtype), per_trial(states[:, :, 1], self.dtype),
                 per_trial(np.stack(uniform), self.dtype))

  def _run(self, function, data, m, retrieval_on, encoding_on):
    encode = bool(encoding_on and m < self.args.N_UNIQUE_EXAMPLE)
    return function(data.x_trials[m], data.y_trials[m], data.h0[m], data.c0[m], data.uniform[m],
                    self._no_actions, self._false, self._true if encode else self._false,
                    self._true if retrieval_on else self._false)

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
    data, pending = None, []
    with StopOnInterrupt() as interrupt:
      try:
        while step < total and not interrupt.requested:
          epoch, m = divmod(step, self.n_trials)
          if m == 0 or data is None:
            data = self._begin_epoch(resumed=m > 0)
            epoch_start, traces = time.perf_counter(), {}
            vis_trials = self._vis_trials(data.x) if self._vis_due(epoch) else None
          result = self._run(self.agent.train_trial, data, m, not args.RETRIEVAL_OFF,
                             not args.ENCODING_OFF)
          # Logged in batches (at the epoch's end and before saves): converting each
          # trial's outputs at once would cost as much as running it.
          pending.append((epoch, m, result.trace.action, result.trace.reward,
                          result.loss_policy, result.loss_value))
          if vis_trials is not None and any(m in own for own in vis_trials):
            traces[m] = {name: value.numpy() for name, value in result.trace._asdict().items()}
          step += 1
          if args.VERBOSE:
            self._log_trials(logs, pending, data.y)
            log.debug(f'trial {step}: return {logs["returns"][:, epoch, m].tolist()}, loss '
                      f'{(logs["loss_value"][:, epoch, m] + logs["loss_policy"][:, epoch, m]).tolist()}')
          if progress.due(step) == 'time':
            log.info(progress.line(step, 'time'))
          epoch_done = step % self.n_trials == 0
          if epoch_done:
            self._log_trials(logs, pending, data.y)
            self._end_epoch(epoch, logs, results, summaries, time.perf_counter() - epoch_start)
          if (epoch_done and not args.SAVE_INTERVAL) or saving.due(step):
            self._log_trials(logs, pending, data.y)
            self._save(step)
            saving.saved()
          if epoch_done and vis_trials is not None:
            self._visualize(epoch, data.x, data.y, logs, traces, vis_trials)
      except OutputError:
        self._log_trials(logs, pending, data.y)
        self._save_unsaved(step)  # the error ends the run after progress is saved
        raise
      if data is not None:
        self._log_trials(logs, pending, data.y)
      self._save_unsaved(step)
      if interrupt.requested:
        log.info(f'Interrupted at trial {step}; checkpoint saved, run again to resume.')
    log.info(f'total time: {format_duration(time.perf_counter() - start)}')
    return step

  def _begin_epoch(self, resumed):
    """The epoch's stimuli and noise; a resumed epoch re-draws them from the task and
    noise streams' states at its start (its DND comes from the checkpoint)."""
    pairs = list(zip(self.task_rngs, self.epoch_start_rngs)) + list(
        zip(self.model_rngs, self.epoch_start_model_rngs))
    for rng, start in pairs:
      if resumed:
        rng.set_state(start.get_state())
      else:
        start.set_state(rng.get_state())
    if not resumed:
      self.agent.dnd.reset_memory()
    return self._sample_epoch(self.tasks, self.model_rngs)

  def _log_trials(self, logs, pending, y):
    """Moves the pending trials' outputs into the logs (emptying `pending`)."""
    if not pending:
      return
    epochs, trials, actions, rewards, policy, value = zip(*pending)
    actions, rewards = np.stack(actions, 1), np.stack(rewards, 1)      # [B, n, T]
    policy, value = np.stack(policy, 1), np.stack(value, 1)            # [B, n]
    bad = ~(np.isfinite(policy) & np.isfinite(value)).all(axis=0)
    if bad.any():
      first = int(np.flatnonzero(bad)[0])
      raise TrainingDivergedError(
          f'the loss became non-finite at epoch {epochs[first]}, trial {trials[first]}; stopped '
          f'without saving, the last finite checkpoint ({self.keeper.latest or "none"}) is kept')
    epochs, trials = np.array(epochs), np.array(trials)
    logs['returns'][:, epochs, trials] = rewards.sum(axis=2)
    logs['loss_value'][:, epochs, trials], logs['loss_policy'][:, epochs, trials] = value, policy
    logs['actions'][:, epochs, trials] = actions
    logs['targets'][:, epochs, trials] = y[:, trials, 0]
    pending.clear()

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
      data = self._sample_epoch(tasks, rngs)
      x64, y = data.x, data.y
      self.agent.dnd.reset_memory()
      logs = self._empty_logs(1)
      vis = self._vis_trials(x64) if args.VISUALIZE else []
      traces, pending = {}, []
      for m in range(self.n_trials):
        result = self._run(self.agent.run_trial, data, m, retrieval_on, not args.ENCODING_OFF)
        pending.append((0, m, result.trace.action, result.trace.reward, result.loss_policy,
                        result.loss_value))
        if any(m in own for own in vis):
          traces[m] = {k: v.numpy() for k, v in result.trace._asdict().items()}
      self._log_trials(logs, pending, y)
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

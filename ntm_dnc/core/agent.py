"""Agents: own the env and the circuit, train, evaluate and test
(pytorch-dnc `core/agent.py`, `core/agents/`).

The training step (unrolled sequence, loss, gradients, optimiser update) is one
`tf.function`, traced once: batches are padded to a fixed length and their
natural length is passed as a tensor.
"""
import os
import time

import numpy as np
import tensorflow as tf

from common import config, seeding, visualize
from common.checkpoint import (CheckpointError, CheckpointKeeper, JsonState, SaveSchedule,
                               StopOnInterrupt)
from common.logs import OutputError, Progress, Summaries, format_duration
from common.optim import TorchRMSprop

BCE_EPSILON = 1e-12  # PyTorch 0.2's BCELoss epsilon


class TrainingDivergedError(RuntimeError):
  """The loss became NaN or infinite; the last finite checkpoint is kept."""


def sequence_loss(logits, target, mask, time, logit_loss=False):
  """The original's loss: masked BCE summed, / (B * T * D), / B again.

  Args:
    logits: `[T_pad, B, D]`; target, mask: `[T_pad, B, D]`.
    time: scalar, the batch's natural length T (not the padded one).
    logit_loss: BCE from logits (stable) instead of probabilities + 1e-12.
  Returns:
    scalar loss.
  """
  if logit_loss:
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits)
  else:
    probs = tf.sigmoid(logits)
    # The maximum keeps Grappler from folding (1 - p) + eps into (1 + eps) - p,
    # which is 1 - p in float32: log(0) = -inf, and 0 * -inf = NaN once outputs
    # saturate (it stopped DNC training at ~16k steps before this).
    one_minus_probs = tf.maximum(1.0 - probs, 0.0)
    bce = -(target * tf.math.log(probs + BCE_EPSILON)
            + (1.0 - target) * tf.math.log(one_minus_probs + BCE_EPSILON))
  batch = tf.cast(tf.shape(target)[1], tf.float32)
  depth = float(target.shape[-1])
  return tf.reduce_sum(mask * bce) / (batch * tf.cast(time, tf.float32) * depth) / batch


def bit_errors(logits, target, mask):
  """Wrong bits per sequence: outputs thresholded at 0.5, masked steps only."""
  wrong = tf.cast(tf.not_equal(tf.cast(logits > 0.0, tf.float32), target), tf.float32)
  return tf.reduce_sum(mask * wrong) / tf.cast(tf.shape(target)[1], tf.float32)


class Agent:
  """Base: builds env and circuit from the parsed constants (`args`).

  The training env draws from its own `RandomState(SEED)` (the original's
  `np.random.seed(SEED)` stream), saved in every checkpoint.
  """

  def __init__(self, args, env_prototype, circuit_prototype, logger):
    self.args, self.logger = args, logger
    self.logger.info('<===================================> Agent:')
    self.env_prototype = env_prototype
    self.env = env_prototype(args, logger, rng=np.random.RandomState(args.SEED))
    self.circuit = None
    if circuit_prototype is not None:
      args.input_dim, args.output_dim = self.env.state_shape, self.env.action_dim
      self.circuit = circuit_prototype(args)
      self._log_architecture()

  def _log_architecture(self):
    self.logger.info('<-----------------------------======> Circuit:    {Controller, Accessor}')
    for layer in _sublayers(self.circuit):
      shapes = ', '.join(f'{v.name} {list(v.shape)}' for v in layer.trainable_weights)
      self.logger.info(f'  {layer.name}: {shapes}')
    self.logger.info(f'  memory: {self.circuit.accessor.memory!r}')
    self.logger.info(f'Parameters: {count_parameters(self.circuit)}')


def _sublayers(circuit):
  accessor = circuit.accessor
  return [circuit.controller.in_2_hid, accessor.write_heads, accessor.read_heads, circuit.hid_to_out]


def count_parameters(layer):
  return int(sum(np.prod(v.shape) for v in layer.trainable_variables))


class EmptyAgent(Agent):
  """Env tester (config 0): renders a few batches, never trains."""

  def fit_model(self):
    for index in range(self.args.TEST_NEPISODES):
      batch = self.env.reset().state1
      print(f'batch {index}: natural T = {batch.time}')
      print(self.env.visual(batch))

  test_model = fit_model


class SLAgent(Agent):
  """Supervised agent: fit_model, _eval_model, test_model.

  Random streams (`common.seeding`): training batches come from the training
  env's RNG (saved in checkpoints); evaluation and test batches from an env of
  their own, re-seeded from (SEED, step) before each evaluation, so neither
  EVAL_FREQ nor EVAL_STEPS changes what training sees (the original drew its
  evaluation batches from the training stream).
  """

  def __init__(self, args, env_prototype, circuit_prototype, logger, run_config):
    super().__init__(args, env_prototype, circuit_prototype, logger)
    self.eval_env = env_prototype(args, None)
    # The progress window's per-step values and the totals behind the "Training
    # Stats: avg_loss" lines, so that a resumed run prints what the uninterrupted one would.
    self.train_stats = JsonState(losses=[], errors=[], total_loss=0.0, total_count=0)
    self.variables = self.circuit.trainable_variables
    self.optimizer = TorchRMSprop(self.variables, lr=args.LR, alpha=args.OPTIM_ALPHA,
                                  eps=args.OPTIM_EPS)
    self.keeper = CheckpointKeeper(args.CHECKPOINT_DIR, run_config, args.MAX_KEEP_CHECKPOINTS,
                                   data_rng=self.env.rng, logger=logger,
                                   restart=args.RESTART and args.MODE == 'train',
                                   settings=config.as_dict(args),
                                   circuit=self.circuit, optimizer=self.optimizer,
                                   train_stats=self.train_stats,
                                   optional=('train_stats',))  # new in this version
    self.train_step = tf.function(self._train_step, jit_compile=args.JIT_COMPILE)
    self.eval_step = tf.function(self._eval_step, jit_compile=args.JIT_COMPILE)
    self.trace_step = tf.function(self._trace_step)

  # -- compiled steps ---------------------------------------------------------
  def _forward(self, inputs):
    return self.circuit.unroll(inputs, unroll=self.args.UNROLL)

  def _train_step(self, inputs, target, mask, time):
    with tf.GradientTape() as tape:
      logits = self._forward(inputs)
      loss = sequence_loss(logits, target, mask, time, self.args.LOGIT_LOSS)
    grads = tape.gradient(loss, self.variables)
    if self.args.CLIP_GRAD_NORM > 0:
      grads, _ = tf.clip_by_global_norm(grads, self.args.CLIP_GRAD_NORM)
    self.optimizer.apply_gradients(grads, self.variables)
    return loss, bit_errors(logits, target, mask)

  def _eval_step(self, inputs, target, mask, time):
    logits = self._forward(inputs)
    return sequence_loss(logits, target, mask, time, self.args.LOGIT_LOSS), bit_errors(
        logits, target, mask)

  def _trace_step(self, inputs):
    logits, states = self.circuit.unroll(inputs, unroll=self.args.UNROLL, trace=True)
    return tf.sigmoid(logits), states

  @staticmethod
  def _tensors(batch):
    return (tf.constant(batch.input), tf.constant(batch.target), tf.constant(batch.mask),
            tf.constant(batch.time, tf.float32))

  # -- loops --------------------------------------------------------------------
  def _eval_model(self, step):
    """EVAL_STEPS fresh batches of the evaluation stream for `step`: (loss, bit errors)."""
    self.eval_env.rng = seeding.numpy_stream(self.args.SEED, seeding.EVAL, step)
    losses, errors = [], []
    for _ in range(self.args.EVAL_STEPS):
      loss, bits = self.eval_step(*self._tensors(self.eval_env.step(0).state1))
      losses.append(loss)
      errors.append(bits)
    return float(np.mean(losses)), float(np.mean(errors))

  def fit_model(self):
    args, log = self.args, self.logger
    step = self.keeper.restore()
    if step is None:
      step = 0
      log.info('No Pretrained Model. Will Train From Scratch.')
    else:
      log.info(f'Resumed from step {step} ({self.keeper.latest})')
    summaries = Summaries(args.CHECKPOINT_DIR)
    progress = Progress(step, args.MAX_STEPS, args.PROG_FREQ)
    saving = SaveSchedule(args.SAVE_INTERVAL, args.SAVE_INTERVAL_MINUTES)
    log.info('<===================================> Training ...')
    start = time.perf_counter()
    stats = self.train_stats.value if step else {}
    losses = [np.float32(v) for v in stats.get('losses', [])]
    errors = [np.float32(v) for v in stats.get('errors', [])]
    total_loss, total_count = stats.get('total_loss', 0.0), stats.get('total_count', 0)
    self.saved_step = step
    with StopOnInterrupt() as interrupt:
      try:
        while step < args.MAX_STEPS and not interrupt.requested:
          # Drawn just before it is used, so a checkpoint never falls between a
          # batch's draw and its step (the original drew it one step ahead, from
          # the same stream in the same order).
          batch = self.env.step(0).state1
          loss, bits = self.train_step(*self._tensors(batch))
          losses.append(loss)
          errors.append(bits)
          step += 1
          if args.VERBOSE:
            log.debug(f'step {step}: loss {float(loss):.9g}, bit errors {float(bits):.6g}')
          kind = progress.due(step)
          if kind == 'first' and step % args.PROG_FREQ:
            log.info(progress.line(step, kind, loss=float(loss), bit_errors=float(bits)))
          elif kind == 'time':
            log.info(progress.line(step, kind))
          if step % args.PROG_FREQ == 0:
            mean_loss, mean_bits = float(np.mean(losses)), float(np.mean(errors))
            self._check_finite(mean_loss, step, 'training')
            total_loss, total_count = total_loss + mean_loss * len(losses), total_count + len(losses)
            losses, errors = [], []
            log.info(progress.line(step, 'interval', loss=mean_loss, bit_errors=mean_bits))
            log.info(f'Reporting       @ Step: {step} | Elapsed Time: '
                     f'{time.perf_counter() - start:.1f}')
            log.info(f'Training Stats:   avg_loss:         {total_loss / total_count}')
            summaries.scalars(step, train_loss=mean_loss, train_bit_errors=mean_bits)
          evaluate = step % args.EVAL_FREQ == 0
          if evaluate:
            log.info(f'Evaluating      @ Step: {step}')
            eval_start = time.perf_counter()
            eval_loss, eval_bits = self._eval_model(step)
            self._check_finite(eval_loss, step, 'evaluation')
            log.info(f'Evaluation        Took: {time.perf_counter() - eval_start:.2f}')
            log.info(f'Iteration: {step}; loss_avg: {eval_loss}; bit_errors: {eval_bits}')
            summaries.scalars(step, eval_loss=eval_loss, eval_bit_errors=eval_bits)
          if (evaluate and not args.SAVE_INTERVAL) or saving.due(step):
            self._check_finite(float(np.mean(losses)) if losses else 0.0, step, 'training')
            self._keep_stats(losses, errors, total_loss, total_count)
            self._save(step)
            saving.saved()
            if evaluate:
              log.info(f'Resume Training @ Step: {step}')
          if args.SAVE_VIS_INTERVAL and step % args.SAVE_VIS_INTERVAL == 0:
            self._visualize(batch, visualize.step_dir(args.CHECKPOINT_DIR, step))
      except OutputError:
        self._keep_stats(losses, errors, total_loss, total_count)
        self._save_unsaved(step, losses)  # the error ends the run after progress is saved
        raise
      self._keep_stats(losses, errors, total_loss, total_count)
      self._save_unsaved(step, losses)
      if interrupt.requested:
        log.info(f'Interrupted at step {step}; checkpoint saved, run again to resume.')
    log.info(f'total time: {format_duration(time.perf_counter() - start)}')
    return step

  def _keep_stats(self, losses, errors, total_loss, total_count):
    """What the next checkpoint records of the progress window and the running totals."""
    self.train_stats.value = dict(losses=[float(v) for v in losses],
                                  errors=[float(v) for v in errors],
                                  total_loss=total_loss, total_count=total_count)

  def _save_unsaved(self, step, losses):
    if step != self.saved_step:
      self._check_finite(float(np.mean(losses)) if losses else 0.0, step, 'training')
      self._save(step)

  def _check_finite(self, loss, step, phase):
    if not np.isfinite(loss):
      raise TrainingDivergedError(
          f'{phase} loss became {loss} by step {step}; stopped without saving, the last '
          f'finite checkpoint ({self.keeper.latest or "none"}) is kept. Resume from it, or '
          'train with --clip_grad_norm=50 (DeepMind\'s setting)')

  def _save(self, step):
    self.logger.info(f'Saving Model    @ Step: {step}: {self.args.CHECKPOINT_DIR} ...')
    path = self.keeper.save(step)
    self.saved_step = step
    self.logger.info(f'Saved  Model    @ Step: {step}: {path}.')

  def test_model(self):
    args, log = self.args, self.logger
    step = self.keeper.restore(train=False)
    if step is None:
      raise CheckpointError(f'no checkpoint in {args.CHECKPOINT_DIR!r} to test; '
                            'train first (--mode=train) or pass --checkpoint_dir')
    log.info(f'Loaded  Model: {self.keeper.latest} (step {step})')
    log.info('<===================================> Testing ...')
    start = time.perf_counter()
    losses, errors = [], []
    out_dir = visualize.step_dir(args.CHECKPOINT_DIR, step, prefix='test_')
    self.eval_env.rng = seeding.numpy_stream(args.SEED, seeding.TEST)  # the same test batches every time
    for episode in range(args.TEST_NEPISODES):
      batch = self.eval_env.step(0).state1
      loss, bits = self.eval_step(*self._tensors(batch))
      losses.append(float(loss))
      errors.append(float(bits))
      outputs = self._visualize(batch, out_dir, prefix=f'batch{episode}_')
      print(self.env.visual(batch, outputs))
      log.info(f'Test batch {episode}: loss {float(loss):.6g}, bit errors {float(bits):.4g}')
    log.info(f'Testing  Took: {time.perf_counter() - start:.2f}')
    log.info(f'Iteration: {args.TEST_NEPISODES}; loss_avg: {np.mean(losses)}; '
             f'bit_errors: {np.mean(errors)}')
    log.info(f'Visualisations: {out_dir}')
    return float(np.mean(losses)), float(np.mean(errors))

  # -- visualisation --------------------------------------------------------------
  def _visualize(self, batch, directory, prefix='', index=0):
    """PNGs of sample `index`: sequences, head weights over time, final memory.
    Returns the output probabilities `[T, B, D]` (natural length)."""
    if not self.args.VISUALIZE:
      return None
    probs, states = self.trace_step(tf.constant(batch.input))
    T = batch.time
    probs = probs.numpy()[:T]
    path = lambda name: os.path.join(directory, prefix + name + '.png')
    seq = dict(row_label='time step', col_label='channel')
    visualize.heatmap(batch.input[:T, index], path('input'), title='input', **seq)
    visualize.heatmap(batch.target[:T, index], path('target'), title='target', vmin=0, vmax=1,
                      **seq)
    visualize.heatmap(probs[:, index], path('output'), title='output (probability)',
                      vmin=0, vmax=1, **seq)
    weights = dict(row_label='time step', col_label='memory slot', vmin=0, vmax=1)
    write_w = states.write_weights.numpy()[:T, index]  # [T, Hw, N]
    read_w = states.read_weights.numpy()[:T, index]    # [T, R, N]
    visualize.heatmap_grid([(write_w[:, h], f'write head {h}') for h in range(write_w.shape[1])],
                           path('write_weights'), title='write weights', **weights)
    visualize.heatmap_grid([(read_w[:, r], f'read head {r}') for r in range(read_w.shape[1])],
                           path('read_weights'), title='read weights', **weights)
    memory = states.memory.numpy()[T - 1, index]      # [N, W]
    visualize.heatmap(memory, path('memory'), title=f'memory at step {T - 1}',
                      row_label='memory slot', col_label='word bit')
    if hasattr(states, 'usage'):
      visualize.heatmap(states.usage.numpy()[:T, index], path('usage'), title='usage',
                        **weights)
      link = states.link.numpy()[T - 1, index]       # [Hw, N, N]
      visualize.heatmap_grid([(link[h], f'write head {h}') for h in range(link.shape[0])],
                             path('link'), title=f'temporal link at step {T - 1}',
                             row_label='slot written after', col_label='slot written before',
                             vmin=0, vmax=1)
    return probs

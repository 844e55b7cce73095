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

from common import visualize
from common.checkpoint import CheckpointError, CheckpointKeeper, StopOnInterrupt
from common.logs import Progress, Summaries, format_duration
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
  """Base: builds env and circuit from the parsed constants (`args`)."""

  def __init__(self, args, env_prototype, circuit_prototype, logger):
    self.args, self.logger = args, logger
    self.logger.warning('<===================================> Agent:')
    self.env = env_prototype(args, logger)
    self.circuit = None
    if circuit_prototype is not None:
      args.input_dim, args.output_dim = self.env.state_shape, self.env.action_dim
      self.circuit = circuit_prototype(args)
      self._log_architecture()

  def _log_architecture(self):
    self.logger.warning('<-----------------------------======> Circuit:    {Controller, Accessor}')
    for layer in _sublayers(self.circuit):
      shapes = ', '.join(f'{v.name} {list(v.shape)}' for v in layer.trainable_weights)
      self.logger.warning(f'  {layer.name}: {shapes}')
    self.logger.warning(f'  memory: {self.circuit.accessor.memory!r}')
    self.logger.warning(f'Parameters: {count_parameters(self.circuit)}')


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
  """Supervised agent: fit_model, _eval_model, test_model."""

  def __init__(self, args, env_prototype, circuit_prototype, logger, run_config):
    super().__init__(args, env_prototype, circuit_prototype, logger)
    self.variables = self.circuit.trainable_variables
    self.optimizer = TorchRMSprop(self.variables, lr=args.LR, alpha=args.OPTIM_ALPHA,
                                  eps=args.OPTIM_EPS)
    self.keeper = CheckpointKeeper(args.CHECKPOINT_DIR, run_config, args.MAX_KEEP_CHECKPOINTS,
                                   circuit=self.circuit, optimizer=self.optimizer)
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
  def _eval_model(self):
    losses, errors = [], []
    exp = self.env.reset()
    for _ in range(self.args.EVAL_STEPS):
      loss, bits = self.eval_step(*self._tensors(exp.state1))
      losses.append(loss)
      errors.append(bits)
      exp = self.env.step(0)
    return float(np.mean(losses)), float(np.mean(errors))

  def fit_model(self):
    args, log = self.args, self.logger
    step = self.keeper.restore()
    if step is None:
      step = 0
      log.warning('No Pretrained Model. Will Train From Scratch.')
    else:
      log.warning(f'Resumed from step {step} ({self.keeper.latest})')
    summaries = Summaries(args.CHECKPOINT_DIR)
    progress = Progress(step, args.MAX_STEPS)
    log.warning('<===================================> Training ...')
    start = time.perf_counter()
    losses, errors = [], []
    total_loss, total_count = 0.0, 0
    saved_step = step
    exp = self.env.reset()
    with StopOnInterrupt() as interrupt:
      while step < args.MAX_STEPS and not interrupt.requested:
        batch = exp.state1
        loss, bits = self.train_step(*self._tensors(batch))
        losses.append(loss)
        errors.append(bits)
        exp = self.env.step(0)  # the next batch, generated now as in the original
        step += 1
        if step % args.PROG_FREQ == 0:
          mean_loss, mean_bits = float(np.mean(losses)), float(np.mean(errors))
          self._check_finite(mean_loss, step, 'training')
          total_loss, total_count = total_loss + mean_loss * len(losses), total_count + len(losses)
          losses, errors = [], []
          log.warning(progress.line(step, loss=mean_loss, bit_errors=mean_bits))
          log.warning(f'Reporting       @ Step: {step} | Elapsed Time: '
                      f'{time.perf_counter() - start:.1f}')
          log.warning(f'Training Stats:   avg_loss:         {total_loss / total_count}')
          summaries.scalars(step, train_loss=mean_loss, train_bit_errors=mean_bits)
        if args.SAVE_VIS_INTERVAL and step % args.SAVE_VIS_INTERVAL == 0:
          self._visualize(batch, visualize.step_dir(args.CHECKPOINT_DIR, step))
        if step % args.EVAL_FREQ == 0:
          log.warning(f'Evaluating      @ Step: {step}')
          eval_start = time.perf_counter()
          eval_loss, eval_bits = self._eval_model()
          self._check_finite(eval_loss, step, 'evaluation')
          log.warning(f'Evaluation        Took: {time.perf_counter() - eval_start:.2f}')
          log.warning(f'Iteration: {step}; loss_avg: {eval_loss}; bit_errors: {eval_bits}')
          summaries.scalars(step, eval_loss=eval_loss, eval_bit_errors=eval_bits)
          self._save(step)
          saved_step = step
          log.warning(f'Resume Training @ Step: {step}')
          exp = self.env.reset()  # the pending batch is discarded, as in the original
      if step != saved_step:
        self._check_finite(float(np.mean(losses)) if losses else 0.0, step, 'training')
        self._save(step)
      if interrupt.requested:
        log.warning(f'Interrupted at step {step}; checkpoint saved, run again to resume.')
    log.warning(f'total time: {format_duration(time.perf_counter() - start)}')
    return step

  def _check_finite(self, loss, step, phase):
    if not np.isfinite(loss):
      raise TrainingDivergedError(
          f'{phase} loss became {loss} by step {step}; stopped without saving, the last '
          f'finite checkpoint ({self.keeper.latest or "none"}) is kept. Resume from it, or '
          'train with --clip_grad_norm=50 (DeepMind\'s setting)')

  def _save(self, step):
    self.logger.warning(f'Saving Model    @ Step: {step}: {self.args.CHECKPOINT_DIR} ...')
    path = self.keeper.save(step)
    self.logger.warning(f'Saved  Model    @ Step: {step}: {path}.')

  def test_model(self):
    args, log = self.args, self.logger
    step = self.keeper.restore()
    if step is None:
      raise CheckpointError(f'no checkpoint in {args.CHECKPOINT_DIR!r} to test; '
                            'train first (--mode=train) or pass --checkpoint_dir')
    log.warning(f'Loaded  Model: {self.keeper.latest} (step {step})')
    log.warning('<===================================> Testing ...')
    start = time.perf_counter()
    losses, errors = [], []
    out_dir = visualize.step_dir(args.CHECKPOINT_DIR, step, prefix='test_')
    for episode in range(args.TEST_NEPISODES):
      batch = self.env.reset().state1
      loss, bits = self.eval_step(*self._tensors(batch))
      losses.append(float(loss))
      errors.append(float(bits))
      outputs = self._visualize(batch, out_dir, prefix=f'batch{episode}_')
      print(self.env.visual(batch, outputs))
      log.warning(f'Test batch {episode}: loss {float(loss):.6g}, bit errors {float(bits):.4g}')
    log.warning(f'Testing  Took: {time.perf_counter() - start:.2f}')
    log.warning(f'Iteration: {args.TEST_NEPISODES}; loss_avg: {np.mean(losses)}; '
                f'bit_errors: {np.mean(errors)}')
    log.warning(f'Visualisations: {out_dir}')
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

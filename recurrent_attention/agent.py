"""Training, evaluation and test loops of the RAM experiments (the original's
`RAM_centered.py`, `RAM_translated.py`, `RAM_cluttered.py` and `RAM_catch.py`).

Each update (the whole T-glimpse unroll or Catch episode, the losses, the
gradients and the Adam step) is one `tf.function`, traced once. A run resumes
from its latest checkpoint: weights, Adam slots, the baseline, the TF
generator of the policy samples and the step. The data order and canvases are
a pure function of (seed, epoch, batch), so a run resumed inside an epoch sees
the batches it would have seen.

Random streams (`common.seeding`): training samples locations (and Catch its
games and actions) from `rng`, saved in checkpoints; evaluation, test mode and
visualisation draw from generators of their own, re-seeded from (SEED, epoch or
step) before each use, so how often they run never changes training, and a
resumed run is bit-exact with an uninterrupted one.
"""
import os
import time

import numpy as np
import tensorflow as tf

from common import config, seeding
from common.checkpoint import CheckpointError, CheckpointKeeper, StopOnInterrupt
from common.data import canvases
from common.data.mnist import load_mnist
from common.logs import OutputError, Progress, ResultsFile, Summaries, format_duration
from common.optim import TorchAdam
from recurrent_attention import catch, ram, ram_catch
from recurrent_attention import visualize as ra_visualize
from common import visualize

RESULTS_FILE = 'results.jsonl'  # one JSON line per epoch, read by plot_results.py


class TrainingDivergedError(RuntimeError):
  """A loss became NaN or infinite; the last finite checkpoint is kept."""


class Agent:
  """Shared set-up: model, Adam, generator, checkpoints, logs.

  Args:
    args: the parsed constants (see constants.py).
    logger: from `common.logs.setup_logger`.
    run_config: the architecture constants stored in (and checked against) checkpoints.
  """

  def __init__(self, args, logger, run_config):
    self.args, self.logger = args, logger
    self.rng = tf.random.Generator.from_seed(args.SEED)  # training's stream, checkpointed
    # Re-seeded before each use (`common.seeding.reseed`), never checkpointed.
    self.eval_rng = seeding.tf_generator(args.SEED, seeding.EVAL)
    self.vis_rng = seeding.tf_generator(args.SEED, seeding.VIS)
    self.model = self.build_model()
    # The epoch's running loss totals and example count, so that the record of an
    # epoch resumed in its middle covers the whole epoch, as without the stop.
    self.epoch_totals = tf.Variable(tf.zeros([6], tf.float64), trainable=False,
                                    name='epoch_totals')
    self.running = None  # (totals [5], count) of the epoch in progress
    self.variables = self.model.trainable_variables
    self.optimizer = TorchAdam(self.variables, lr=self.learning_rate(1), eps=1e-8)
    self.keeper = CheckpointKeeper(args.CHECKPOINT_DIR, run_config, args.MAX_KEEP_CHECKPOINTS,
                                   logger=logger, restart=args.RESTART and args.MODE == 'train',
                                   settings=config.as_dict(args),
                                   model=self.model, optimizer=self.optimizer, rng=self.rng,
                                   epoch_totals=self.epoch_totals,
                                   optional=('epoch_totals',))  # new in this version
    self.results = None
    self.saved_step = None
    self._log_architecture()

  def build_model(self):
    raise NotImplementedError

  def learning_rate(self, epoch):
    args = self.args
    return ram.adjust_learning_rate(args.LR, args.LR_DECAY, epoch, max(args.LR_MIN, 0.0))

  def _log_architecture(self):
    log = self.logger
    log.info('<===================================> Model:')
    for name, variable in named_variables(self.model):
      log.info(f'  {name}: {list(variable.shape)}')
    log.info(f'Parameters: {count_parameters(self.model)}')

  def _restore(self):
    """Restores the latest checkpoint (or none) and opens the results file at its step."""
    step = self.keeper.restore()
    if step is None:
      self.logger.info('No checkpoint found. Will train from scratch.')
      step = 0
    else:
      self.logger.info(f'Resumed from step {step} ({self.keeper.latest})')
    self.results = ResultsFile(os.path.join(self.args.CHECKPOINT_DIR, RESULTS_FILE), step,
                               self.logger)
    self.saved_step = step
    return step

  def fit_model(self):
    """Trains to MAX_STEPS (or EPOCHS), resuming from the latest checkpoint."""
    a = self.args
    per_epoch = self.steps_per_epoch()
    max_steps = a.MAX_STEPS or a.EPOCHS * per_epoch
    step = self._restore()
    summaries = Summaries(a.CHECKPOINT_DIR)
    progress = Progress(step, max_steps, a.PROG_FREQ)
    self.logger.info(self.training_banner(per_epoch, max_steps))
    start = time.perf_counter()
    with StopOnInterrupt() as interrupt:
      try:
        self._fit_epochs(step, max_steps, per_epoch, summaries, progress, interrupt, start)
      except OutputError:
        self._save_unsaved(self.step)  # the error ends the run after progress is saved
        raise
      self._finish(self.step, interrupt.requested, start)
    return self.step

  def _epoch_totals(self, batch_in_epoch):
    """(totals [5], count) to start an epoch with: zero, or the checkpoint's when
    resuming in the middle of one."""
    if batch_in_epoch == 0:
      return np.zeros(5), 0
    saved = self.epoch_totals.numpy()
    return saved[:5].copy(), int(saved[5])

  def _save(self, step):
    if self.running is not None:
      totals, count = self.running
      self.epoch_totals.assign(np.append(totals, count))
    path = self.keeper.save(step)
    self.saved_step = step
    self.logger.info(f'Saved checkpoint @ step {step}: {path}')

  def _save_unsaved(self, step):
    if step != self.saved_step:
      self._save(step)

  def _finish(self, step, interrupted, start):
    """Saves unsaved progress and says how the run ended."""
    self._save_unsaved(step)
    if interrupted:
      self.logger.info(f'Interrupted at step {step}; checkpoint saved, run again to resume.')
    self.logger.info(f'total time: {format_duration(time.perf_counter() - start)}')

  def _check_finite(self, value, step, what):
    if not np.isfinite(value):
      raise TrainingDivergedError(
          f'{what} became {value} at step {step}; stopped without saving, the last finite '
          f'checkpoint ({self.keeper.latest or "none"}) is kept')

  def _append_result(self, record):
    self.results.append(record)

  def _restored_for_test(self):
    step = self.keeper.restore(train=False)
    if step is None:
      raise CheckpointError(f'no checkpoint in {self.args.CHECKPOINT_DIR!r} to test; train '
                            'first (--mode=train) or pass --checkpoint_dir')
    self.logger.info(f'Loaded model: {self.keeper.latest} (step {step})')
    return step


def named_variables(layer, prefix=''):
  """(attribute path, variable) for every trainable variable, e.g. 'glimpse_net.fc_g.kernel'."""
  found = []
  for attr, value in vars(layer).items():
    if attr.startswith('_') or attr == 'retina':
      continue
    if isinstance(value, tf.Variable) and value.trainable:
      found.append((prefix + attr, value))
    elif isinstance(value, tf.keras.layers.Layer):
      if isinstance(value, tf.keras.layers.Dense):
        found += [(f'{prefix}{attr}.kernel', value.kernel), (f'{prefix}{attr}.bias', value.bias)]
      else:
        found += named_variables(value, f'{prefix}{attr}.')
  return found


def count_parameters(layer):
  return int(sum(np.prod(v.shape) for v in layer.trainable_variables))


class ClassificationAgent(Agent):
  """Centered, translated and cluttered MNIST (spec 4.2-4.4, 6.1)."""

  def __init__(self, args, logger, run_config):
    super().__init__(args, logger, run_config)
    self.train_data, self.test_data = self.load_data()
    side = args.IMAGE_SIZE
    image_spec = tf.TensorSpec([None, side, side], tf.float32)
    label_spec = tf.TensorSpec([None], tf.int32)
    self.train_step = tf.function(self._train_step, input_signature=[image_spec, label_spec],
                                  jit_compile=args.JIT_COMPILE)
    self.eval_step = tf.function(self._eval_step, input_signature=[image_spec, label_spec],
                                 jit_compile=args.JIT_COMPILE)
    self.trace_step = tf.function(self._trace_step, input_signature=[image_spec])
    self.last_test_accuracy = None  # shown on the progress line once an epoch has ended

  def build_model(self):
    a = self.args
    return ram.RecurrentAttention(
        glimpse_size=a.GLIMPSE_SIZE, num_scales=a.NUM_SCALES, num_glimpses=a.NUM_GLIMPSES,
        std=a.STD, glimpse_hidden=a.GLIMPSE_HIDDEN, loc_hidden=a.LOC_HIDDEN,
        glimpse_out=a.GLIMPSE_OUT, core_hidden=a.CORE_HIDDEN, baseline=a.BASELINE,
        baseline_init=a.BASELINE_INIT)

  def load_data(self):
    a = self.args
    mnist = load_mnist(a.MNIST_DIR or None, download=a.DOWNLOAD_MNIST, verify=a.VERIFY_MNIST)
    train_images, train_labels = mnist.train_images, mnist.train_labels
    test_images, test_labels = mnist.test_images, mnist.test_labels
    if a.NUM_TRAIN:
      train_images, train_labels = train_images[:a.NUM_TRAIN], train_labels[:a.NUM_TRAIN]
    if a.NUM_TEST:
      test_images, test_labels = test_images[:a.NUM_TEST], test_labels[:a.NUM_TEST]
    sources = None if a.CLUTTER_FROM_BATCH else train_images
    make = lambda images, labels: canvases.DigitCanvases(
        images, labels, a.EXPERIMENT, a.IMAGE_SIZE, a.NUM_CLUTTER, a.CLUTTER_SIZE, sources)
    return make(train_images, train_labels), make(test_images, test_labels)

  # -- compiled steps -------------------------------------------------------------
  def _unroll(self, images, rng, trace=False):
    batch = tf.shape(images)[0]
    initial = rng.uniform([batch, 2], -1.0, 1.0)
    noise = rng.normal([self.args.NUM_GLIMPSES, batch, 2])
    return self.model(images, initial, noise, trace=trace)

  def _losses(self, unroll, labels):
    return ram.classification_losses(self.model, unroll, labels, self.args.GAMMA,
                                     self.args.LAST_LOCATION_LOGPI)

  def _train_step(self, images, labels):
    with tf.GradientTape() as tape:
      losses = self._losses(self._unroll(images, self.rng), labels)
    grads = tape.gradient(losses.total, self.variables)
    self.optimizer.apply_gradients(grads, self.variables)
    return losses

  def _eval_step(self, images, labels):
    """Returns (Losses of one stochastic pass, correct count of the M-pass average)."""
    samples = max(self.args.EVAL_MC_SAMPLES, 1)
    batch = tf.shape(images)[0]
    unroll = self._unroll(tf.tile(images, [samples, 1, 1]), self.eval_rng)
    first = ram.Unroll(unroll.logits[:batch], unroll.log_pi[:, :batch],
                       unroll.baselines[:, :batch] if self.args.BASELINE == 'network'
                       else unroll.baselines, unroll.locations[:, :batch])
    losses = self._losses(first, labels)
    # Not original: average the M passes' log-probabilities (kevinzakka's rule).
    log_probs = tf.nn.log_softmax(tf.reshape(unroll.logits, [samples, batch, -1]))
    predictions = tf.argmax(tf.reduce_mean(log_probs, axis=0), axis=-1, output_type=tf.int32)
    return losses, tf.reduce_sum(tf.cast(tf.equal(predictions, labels), tf.float32))

  def _trace_step(self, images):
    return self._unroll(images, self.vis_rng, trace=True)

  # -- loops --------------------------------------------------------------------------
  def evaluate(self, epoch, stream=seeding.EVAL):
    """One pass over the test set (re-drawn canvases unless FIXED_TEST_SET), its
    policy samples from `stream` re-seeded for `epoch`.
    Returns a dict of per-image averages and accuracies in %."""
    a = self.args
    seeding.reseed(self.eval_rng, a.SEED, stream, epoch)
    test_epoch = 0 if a.FIXED_TEST_SET else epoch
    totals = np.zeros(5)
    correct_mc, count, start = 0.0, 0, time.perf_counter()
    for images, labels in self.test_data.epoch(a.BATCH_SIZE, a.SEED, canvases.TEST_STREAM,
                                               test_epoch, shuffle=False):
      losses, mc = self.eval_step(images, labels)
      totals += [float(v) for v in losses]
      correct_mc += float(mc)
      count += len(labels)
    seconds = time.perf_counter() - start
    result = dict(test_loss=totals[0] / count, test_action_loss=totals[1] / count,
                  test_location_loss=totals[2] / count, test_baseline_loss=totals[3] / count,
                  test_accuracy=100.0 * totals[4] / count,
                  eval_images_per_sec=count * max(a.EVAL_MC_SAMPLES, 1) / seconds)
    if a.EVAL_MC_SAMPLES > 1:
      result['test_accuracy_mc'] = 100.0 * correct_mc / count
    return result

  def steps_per_epoch(self):
    return self.train_data.num_batches(self.args.BATCH_SIZE)

  def training_banner(self, per_epoch, max_steps):
    a = self.args
    return (f'<===================================> Training {a.EXPERIMENT} MNIST, '
            f'{a.NUM_GLIMPSES} glimpses: {per_epoch} batches of {a.BATCH_SIZE} per epoch, '
            f'up to step {max_steps}')

  def _fit_epochs(self, step, max_steps, per_epoch, summaries, progress, interrupt, start):
    """Trains epoch by epoch (the last may be partial), evaluating, logging and saving
    at the end of each; `self.step` follows the steps done."""
    a, log = self.args, self.logger
    self.step = step
    whole = [r for r in self.results.records if r.get('complete_epoch') and 'test_accuracy' in r]
    if whole:  # resumed: the progress lines show what they showed before the stop
      self.last_test_accuracy = whole[-1]['test_accuracy']
    while step < max_steps and not interrupt.requested:
      epoch, first_batch = step // per_epoch + 1, step % per_epoch
      self.optimizer.lr.assign(self.learning_rate(epoch))
      (totals, count), window = self._epoch_totals(first_batch), []
      for images, labels in self.train_data.epoch(a.BATCH_SIZE, a.SEED, canvases.TRAIN_STREAM,
                                                  epoch, shuffle=True, start=first_batch):
        losses = self.train_step(images, labels)
        values = [float(v) for v in losses]
        totals += values
        count += len(labels)
        self.running = (totals, count)
        window.append((values[0], values[4], len(labels)))
        step += 1
        self.step = step
        kind = progress.due(step)
        if kind == 'time' or (kind == 'first' and step % a.PROG_FREQ):
          log.info(progress.line(step, kind, epoch=epoch, loss=values[0] / len(labels))
                   if kind == 'first' else progress.line(step, kind))
        if step % a.PROG_FREQ == 0:
          loss = sum(w[0] for w in window) / sum(w[2] for w in window)
          accuracy = 100.0 * sum(w[1] for w in window) / sum(w[2] for w in window)
          self._check_finite(loss, step, 'training loss')
          shown = dict(epoch=epoch, loss=loss, train_accuracy=accuracy)
          if self.last_test_accuracy is not None:
            shown['last_test_accuracy'] = self.last_test_accuracy
          line = progress.line(step, 'interval', **shown)
          log.info(f'{line} | {progress.rate * a.BATCH_SIZE:.0f} images/s')
          summaries.scalars(step, train_loss=loss, train_accuracy=accuracy)
          window = []
        if a.VISUALIZE and a.SAVE_VIS_INTERVAL and step % a.SAVE_VIS_INTERVAL == 0:
          self.visualize(visualize.step_dir(a.CHECKPOINT_DIR, step), step)
        if step >= max_steps or interrupt.requested:
          break
      if not count:
        break
      self._check_finite(totals[0], step, 'training loss')
      finished = step % per_epoch == 0
      train = dict(train_loss=totals[0] / count, train_action_loss=totals[1] / count,
                   train_location_loss=totals[2] / count,
                   train_baseline_loss=totals[3] / count,
                   train_accuracy=100.0 * totals[4] / count)
      test = self.evaluate(epoch)
      self.last_test_accuracy = test['test_accuracy']
      record = dict(epoch=epoch, step=step, complete_epoch=finished,
                    lr=float(self.optimizer.lr.numpy()), **train, **test,
                    wall_time=time.perf_counter() - start)
      self._append_result(record)
      self._log_epoch(record)
      summaries.scalars(step, **{k: v for k, v in record.items()
                                 if k not in ('epoch', 'step', 'complete_epoch', 'wall_time')})
      self._save(step)

  def _log_epoch(self, r):
    part = '' if r['complete_epoch'] else ' (partial epoch)'
    log = self.logger
    log.info(f'Epoch {r["epoch"]}{part} @ step {r["step"]} | lr {r["lr"]:.3g}')
    log.info(f'  train: action loss {r["train_action_loss"]:.4f} | location loss '
                f'{r["train_location_loss"]:.4f} | baseline loss {r["train_baseline_loss"]:.4f}'
                f' | accuracy {r["train_accuracy"]:.2f}%')
    mc = (f' | {self.args.EVAL_MC_SAMPLES}-sample MC accuracy {r["test_accuracy_mc"]:.2f}%'
          if 'test_accuracy_mc' in r else '')
    log.info(f'  test:  action loss {r["test_action_loss"]:.4f} | location loss '
             f'{r["test_location_loss"]:.4f} | baseline loss {r["test_baseline_loss"]:.4f}'
             f' | accuracy {r["test_accuracy"]:.2f}%{mc}')

  def test_model(self):
    a, log = self.args, self.logger
    step = self._restored_for_test()
    epoch = step // self.train_data.num_batches(a.BATCH_SIZE) + 1
    result = self.evaluate(epoch, seeding.TEST)
    mc = (f'; {a.EVAL_MC_SAMPLES}-sample MC accuracy {result["test_accuracy_mc"]:.2f}%'
          if 'test_accuracy_mc' in result else '')
    log.info(f'Test accuracy {result["test_accuracy"]:.2f}% (one stochastic pass over '
             f'{len(self.test_data)} images){mc}')
    out_dir = visualize.step_dir(a.CHECKPOINT_DIR, step, prefix='test_')
    if a.VISUALIZE:
      self.visualize(out_dir, step)
      log.info(f'Visualisations: {out_dir}')
    return result

  def visualize(self, directory, step):
    """The seed's figure for NUM_VIS test digits (fixed canvases: epoch 0 of the test
    stream; policy samples from the visualisation stream of `step`)."""
    a = self.args
    seeding.reseed(self.vis_rng, a.SEED, seeding.VIS, step)
    indices = np.arange(min(a.NUM_VIS, len(self.test_data)))
    images, labels = self.test_data.batch(indices, a.SEED, canvases.TEST_STREAM, 0, 0)
    unroll, trace = self.trace_step(images)
    locations = unroll.locations.numpy()
    glimpses, step_logits = trace.glimpses.numpy(), trace.step_logits.numpy()
    for i in range(len(indices)):
      ra_visualize.classification_figure(
          images[i], locations[:, i], glimpses[:, i], step_logits[:, i].argmax(-1),
          int(labels[i]), os.path.join(directory, f'glimpses_{i}.png'))


class CatchAgent(Agent):
  """Catch: REINFORCE on actions and locations, episodes in lock-step (spec 3.2, 4.5)."""

  def __init__(self, args, logger, run_config):
    super().__init__(args, logger, run_config)
    self.train_step = tf.function(self._train_step, jit_compile=args.JIT_COMPILE)
    self.play_step = tf.function(self._play_step, jit_compile=args.JIT_COMPILE)
    self.trace_step = tf.function(lambda: self.model.play(self.vis_rng, args.NUM_VIS, trace=True))

  def build_model(self):
    a = self.args
    first_batch = a.BASELINE_INIT == -2.0
    return ram_catch.CatchRAM(
        grid_size=a.IMAGE_SIZE, glimpse_size=a.GLIMPSE_SIZE, num_scales=a.NUM_SCALES, std=a.STD,
        glimpse_hidden=a.GLIMPSE_HIDDEN, loc_hidden=a.LOC_HIDDEN, glimpse_out=a.GLIMPSE_OUT,
        core_hidden=a.CORE_HIDDEN, baseline_init=0.0 if first_batch else a.BASELINE_INIT,
        first_batch_baseline=first_batch)

  def _train_step(self):
    with tf.GradientTape() as tape:
      episode = self.model.play(self.rng, self.args.BATCH_SIZE)
      losses = self.model.losses(episode, self.args.GAMMA, self.args.LAST_LOCATION_LOGPI,
                                 entropy_cost=self.args.ENTROPY_COST)
    grads = tape.gradient(losses.total, self.variables)
    self.optimizer.apply_gradients(grads, self.variables)
    return losses

  def _play_step(self):
    """One batch of games: (catches, `[3]` action counts, glimpses at the board's edge)."""
    episode = self.model.play(self.eval_rng, self.args.BATCH_SIZE)
    actions = tf.math.bincount(episode.actions, minlength=3, maxlength=3, dtype=tf.float32)
    # A glimpse centre this close to +-1 (tanh saturated) is pinned to an edge of the board.
    pinned = tf.reduce_sum(tf.cast(tf.reduce_max(tf.abs(episode.locations), -1) > 0.95,
                                   tf.float32))
    return tf.reduce_sum(episode.rewards), actions, pinned

  def steps_per_epoch(self):
    return self.args.EPISODES_PER_EPOCH

  def training_banner(self, per_epoch, max_steps):
    return (f'<===================================> Training Catch: {per_epoch} batches of '
            f'{self.args.BATCH_SIZE} games per epoch, up to step {max_steps}')

  def _fit_epochs(self, step, max_steps, per_epoch, summaries, progress, interrupt, start):
    """Trains epoch by epoch (the last may be partial), logging and saving at the end
    of each; `self.step` follows the steps done."""
    a, log = self.args, self.logger
    self.step = step
    while step < max_steps and not interrupt.requested:
      epoch = step // per_epoch + 1
      self.optimizer.lr.assign(self.learning_rate(epoch))
      (totals, count), window = self._epoch_totals(step % per_epoch), []
      while not interrupt.requested:
        values = [float(v) for v in self.train_step()]
        totals += values
        count += a.BATCH_SIZE
        self.running = (totals, count)
        window.append(values)
        step += 1
        self.step = step
        kind = progress.due(step)
        if kind == 'time' or (kind == 'first' and step % a.PROG_FREQ):
          log.info(progress.line(step, kind, epoch=epoch, loss=values[0] / a.BATCH_SIZE)
                   if kind == 'first' else progress.line(step, kind))
        if step % a.PROG_FREQ == 0:
          window_sum = np.sum(window, axis=0)
          games = a.BATCH_SIZE * len(window)
          self._check_finite(window_sum[0], step, 'training loss')
          log.info(progress.line(step, 'interval', epoch=epoch, loss=window_sum[0] / games,
                                 catch_rate=100.0 * window_sum[4] / games))
          summaries.scalars(step, train_loss=window_sum[0] / games,
                            catch_rate=100.0 * window_sum[4] / games)
          window = []
        if a.VISUALIZE and a.SAVE_VIS_INTERVAL and step % a.SAVE_VIS_INTERVAL == 0:
          self.visualize(visualize.step_dir(a.CHECKPOINT_DIR, step), step)
        if step % per_epoch == 0 or step >= max_steps:
          break
      self._check_finite(totals[0], step, 'training loss')
      record = dict(epoch=epoch, step=step, complete_epoch=step % per_epoch == 0,
                    lr=float(self.optimizer.lr.numpy()), train_loss=totals[0] / count,
                    train_action_loss=totals[1] / count,
                    train_location_loss=totals[2] / count,
                    train_baseline_loss=totals[3] / count,
                    catch_rate=100.0 * totals[4] / count,
                    baseline=float(self.model.baseline.numpy()),
                    wall_time=time.perf_counter() - start)
      self._append_result(record)
      part = '' if record['complete_epoch'] else ' (partial epoch)'
      log.info(f'Epoch {epoch}{part} @ step {step} | lr {record["lr"]:.3g} | action loss '
               f'{record["train_action_loss"]:.4f} | location loss '
               f'{record["train_location_loss"]:.4f} | baseline loss '
               f'{record["train_baseline_loss"]:.4f} | catch rate '
               f'{record["catch_rate"]:.2f}%')
      summaries.scalars(step, epoch_catch_rate=record['catch_rate'], lr=record['lr'])
      self._save(step)

  def test_model(self):
    a, log = self.args, self.logger
    step = self._restored_for_test()
    seeding.reseed(self.eval_rng, a.SEED, seeding.TEST)  # the same games for every test
    batches = max(1, a.NUM_TEST // a.BATCH_SIZE) if a.NUM_TEST else 20
    caught, actions, pinned = 0.0, np.zeros(3), 0.0
    for _ in range(batches):
      batch_caught, batch_actions, batch_pinned = self.play_step()
      caught += float(batch_caught)
      actions += batch_actions.numpy()
      pinned += float(batch_pinned)
    games = batches * a.BATCH_SIZE
    rate = 100.0 * caught / games
    log.info(f'Catch rate {rate:.2f}% over {games} games (stochastic policy)')
    moves = 100.0 * actions / actions.sum()
    edge = 100.0 * pinned / (games * self.model.episode_length)
    log.info(f'Policy: moves left {moves[0]:.1f}% / stay {moves[1]:.1f}% / right '
             f'{moves[2]:.1f}%; {edge:.1f}% of glimpses pinned to the board edge (|l| > 0.95)')
    # Reference policies that ignore the board, on fresh games of the same number.
    reference_rng = seeding.tf_generator(a.SEED, seeding.TEST, 1)
    references = {policy: 100.0 * float(catch.fixed_policy_catch_rate(
        reference_rng, policy, games, a.IMAGE_SIZE)) for policy in catch.FIXED_POLICIES}
    log.info('Reference catch rates: ' + ', '.join(
        f'{policy} {value:.2f}%' for policy, value in references.items()))
    out_dir = visualize.step_dir(a.CHECKPOINT_DIR, step, prefix='test_')
    if a.VISUALIZE:
      self.visualize(out_dir, step)
      log.info(f'Visualisations: {out_dir}')
    return dict(catch_rate=rate, moves=moves.tolist(), pinned_glimpses=edge, references=references)

  def visualize(self, directory, step):
    """An animation and a gaze-track image of NUM_VIS episodes (the visualisation
    stream of `step`)."""
    a = self.args
    seeding.reseed(self.vis_rng, a.SEED, seeding.VIS, step)
    episode = self.trace_step()
    frames, locations = episode.frames.numpy(), episode.locations.numpy()
    rewards = episode.rewards.numpy()
    for i in range(a.NUM_VIS):
      name = f'episode_{i}_{"caught" if rewards[i] else "missed"}'
      ra_visualize.catch_animation(frames[:, i], locations[:, i],
                                   os.path.join(directory, name + '.gif'), a.GLIMPSE_SIZE,
                                   a.NUM_SCALES, step=step, caught=bool(rewards[i]))
      ra_visualize.gaze_track_image(frames[:, i], locations[:, i],
                                    os.path.join(directory, name + '_gaze.png'))

"""The MNIST recall training loop (multigrid_memory spec 5.3) and test mode.

Per update: draw a batch (spec 4.2), set the learning rate from the global time
step g (`linear_decay`), every LOG_INTERVAL time steps log `Step g: loss = L`
(forward only, before the update, as the original) with the recall accuracy on
that batch and on TEST_BATCHES test-set batches (not in the original, which
computes no metric), take one RMSProp step on the summed loss with global-norm
clipping, g += T. Checkpoints (every SAVE_MODEL_INTERVAL time steps, on Ctrl-C
and at the end) hold the weights, the optimiser's slots, g, and the data
streams' cursors, orders and RNG states, so a resumed run continues the same
stream (the original saves the weights alone and restarts RMSProp).
"""
import random
import time

import numpy as np
import tensorflow as tf

from common import distribute, visualize
from common.checkpoint import CheckpointError, CheckpointKeeper, JsonState, SaveSchedule, \
    StopOnInterrupt
from common.data.mnist import load_mnist
from common.logs import OutputError, Summaries, format_duration
from common.optim import TF1RMSProp, clip_by_global_norm, linear_decay
from multigrid_memory.mnist_recall import visualize as recall_figures
from multigrid_memory.mnist_recall.data import RecallData
from multigrid_memory.mnist_recall.model import MNISTRecallModel, recall_loss
from multigrid_memory.training import check_loss, check_weights, restart_rmsprop


class Trainer:
  """Args: args (the parsed constants), logger, run_config and settings (for checkpoints)."""

  def __init__(self, args, logger, run_config, settings):
    self.args, self.logger = args, logger
    self.mnist = load_mnist(args.MNIST_DIR or None, download=args.DOWNLOAD_MNIST,
                            verify=args.VERIFY_MNIST)
    mnist = self.mnist
    b, t = args.BATCH_SIZE, args.LOCAL_T_MAX
    self.train_data = RecallData(mnist.train_images, mnist.train_labels, b, t,
                                 np.random.RandomState(args.SEED), random.Random(args.SEED),
                                 shuffle_first=args.SHUFFLE_FIRST_EPOCH)
    self.test_data = self._test_stream(1)
    self.strategy = distribute.make_strategy(args.DISTRIBUTE)
    distribute.check_batch(self.strategy, b)
    with self.strategy.scope():   # mirrored variables when distributed
      self.model = MNISTRecallModel(b, t, seed=args.SEED, moving_statistics=args.BN_MOVING_STATS)
      self.variables = self.model.trainable_variables
      self.optimizer = TF1RMSProp(self.variables, lr=args.INITIAL_ALPHA, decay=args.RMSP_ALPHA,
                                  epsilon=args.RMSP_EPSILON)
    self.streams = JsonState()
    self.keeper = CheckpointKeeper(args.CHECKPOINT_DIR, run_config, args.MAX_KEEP_CHECKPOINTS,
                                   logger=logger, restart=args.RESTART and args.MODE == 'train',
                                   settings=settings, model=self.model, optimizer=self.optimizer,
                                   streams=self.streams)
    self.train_step = tf.function(self._train_step, jit_compile=args.JIT_COMPILE)
    self.eval_step = tf.function(self._eval_step, jit_compile=args.JIT_COMPILE)
    count = sum(int(v.shape.num_elements()) for v in self.variables)
    print(f'NUMBER OF PARAMETERS = {count}', flush=True)

  def _test_stream(self, offset):
    """Test-set batches (spec 4.2's test generator) from RNGs seeded SEED + offset."""
    return RecallData(self.mnist.test_images, self.mnist.test_labels, self.args.BATCH_SIZE,
                      self.args.LOCAL_T_MAX, np.random.RandomState(self.args.SEED + offset),
                      random.Random(self.args.SEED + offset),
                      shuffle_first=self.args.SHUFFLE_FIRST_EPOCH)

  def _eval_step(self, images, query, target):
    # Batch statistics, as the original, unless BN_MOVING_STATS asks for its averages.
    logits = self.model(images, query, training=False)
    correct = tf.equal(tf.argmax(logits, axis=-1), target)
    return recall_loss(logits, target), tf.reduce_mean(tf.cast(correct, tf.float32))

  # Each replica runs the model on its share of the batch (batch norm takes the
  # statistics of the global batch: `mg.batch_norm_moments_across_replicas`) and
  # returns its summed loss and gradients; they are summed over the replicas,
  # clipped and applied once: the single-device step on the global batch.
  def _replica_gradients(self, images, query, target):
    with tf.GradientTape() as tape:
      loss = recall_loss(self.model(images, query), target)
    return loss, tape.gradient(loss, self.variables)

  def _train_step(self, images, query, target, lr):
    values = self.strategy.run(self._replica_gradients, args=(images, query, target))
    loss, grads = distribute.sum_over_replicas(self.strategy, values)
    self.optimizer.lr.assign(lr)
    grads, _ = clip_by_global_norm(grads, self.args.GRAD_NORM_CLIP)
    self.optimizer.apply_gradients(grads, self.variables)
    return loss

  def _tensors(self, batch):
    """A training batch as (distributed) tensors: images, query, target."""
    return distribute.split_batch(self.strategy, [batch.images, batch.query, batch.target],
                                  self.args.BATCH_SIZE, time_major=(0,))

  @staticmethod
  def _plain_tensors(batch):
    return tf.constant(batch.images), tf.constant(batch.query), tf.constant(batch.target)

  def _test_accuracy(self):
    results = [self.eval_step(*self._plain_tensors(self.test_data.next_batch()))
               for _ in range(self.args.TEST_BATCHES)]
    return float(np.mean([float(r[1]) for r in results])) if results else float('nan')

  def _visualize(self, step, prefix=''):
    """The original's figure for NUM_VIS sequences of a test batch, and the
    per-step memory panels of NUM_VIS_MEMORY of them, into
    `<CHECKPOINT_DIR>/<prefix><step>/` (drawn from a generator of its own, so
    figures never move the streams training and logs use)."""
    args = self.args
    if not args.NUM_VIS:
      return None
    batch = self._test_stream(3).next_batch()
    images, query, _ = self._plain_tensors(batch)
    trace = self.model.trace(images, query)
    predictions = tf.argmax(trace['logits'], axis=-1).numpy()
    directory = visualize.step_dir(args.CHECKPOINT_DIR, step, prefix=prefix)
    recall_figures.write_figures(directory, batch, predictions, args.NUM_VIS)
    trace = {k: v.numpy() for k, v in trace.items()}
    for index in range(min(args.NUM_VIS_MEMORY, args.NUM_VIS, args.BATCH_SIZE)):
      recall_figures.write_memory_frames(directory, trace, batch, index, wrap=args.VIS_UINT8_WRAP)
    self.logger.info(f'Figures of time step {step}: {directory}')
    return directory

  def _restore(self, train=True):
    step = self.keeper.restore(train=train)
    if step is not None and self.streams.value:
      self.train_data.set_state(self.streams.value['train'])
      self.test_data.set_state(self.streams.value['test'])
    if step is not None and train and self.args.RESTART_RMSPROP_ON_RESUME:
      restart_rmsprop(self.optimizer, self.logger)
    return step

  def _save(self, step):
    check_weights(self.variables, step, self.keeper)
    self.streams.value = {'train': self.train_data.state(), 'test': self.test_data.state()}
    path = self.keeper.save(step)
    self.saved_step = step
    self.logger.info(f'Saved checkpoint at time step {step}: {path}')

  def fit(self):
    args, log = self.args, self.logger
    step = self._restore()
    if step is None:
      step = 0
    else:
      log.info(f'Resumed at time step {step} from {self.keeper.latest}')
    summaries = Summaries(args.CHECKPOINT_DIR)
    saving = SaveSchedule(0, args.SAVE_INTERVAL_MINUTES)
    last_save = last_log = last_vis = step
    self.saved_step = step
    start = time.perf_counter()
    with StopOnInterrupt() as interrupt:
      try:
        while step <= args.MAX_TIME_STEP and not interrupt.requested:
          if args.SAVE_VIS_INTERVAL and step - last_vis >= args.SAVE_VIS_INTERVAL:
            self._visualize(step)
            last_vis = step
          if step - last_save >= args.SAVE_MODEL_INTERVAL or saving.due(step):
            self._save(step)   # before this step's batch is drawn: a resume draws it again
            saving.saved()
            last_save = step
          batch = self.train_data.next_batch()
          images, query, target = self._tensors(batch)
          lr = linear_decay(step, args.INITIAL_ALPHA, args.END_ALPHA, args.END_DECAY_TIME)
          if step - last_log >= args.LOG_INTERVAL or step == 0:
            loss, accuracy = (float(v) for v in self.eval_step(*self._plain_tensors(batch)))
            check_loss(loss, step, self.keeper)
            test_accuracy = self._test_accuracy()
            log.info(f'Step {step}: loss = {loss}')
            log.info(f'Step {step}: recall accuracy {accuracy:.4f} (this batch), '
                     f'{test_accuracy:.4f} (test set, {args.TEST_BATCHES} batches) | lr '
                     f'{float(lr):.3g} | {format_duration(time.perf_counter() - start)}')
            summaries.scalars(step, loss=loss, train_accuracy=accuracy,
                              test_accuracy=test_accuracy)
            last_log = step
          self.train_step(images, query, target, lr)
          step += args.LOCAL_T_MAX
      except OutputError:
        self._save(step)
        raise
      if step != self.saved_step:
        self._save(step)
      if interrupt.requested:
        log.info(f'Interrupted at time step {step}; checkpoint saved, run again to resume.')
    log.info(f'total time: {format_duration(time.perf_counter() - start)}')
    return step

  def test(self):
    step = self._restore(train=False)
    if step is None:
      raise CheckpointError(f'no checkpoint in {self.args.CHECKPOINT_DIR!r} to test; train '
                            'first (--mode=train) or pass --checkpoint_dir')
    self.test_data = self._test_stream(2)   # the same batches each test
    accuracy = self._test_accuracy()
    self._visualize(step, prefix='test_')
    self.logger.info(f'Test at time step {step}: recall accuracy {accuracy:.4f} over '
                     f'{self.args.TEST_BATCHES} test-set batches of {self.args.BATCH_SIZE}')
    return accuracy

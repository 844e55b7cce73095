"""The mapping & localization training loop (trihuynh88/multigrid_mem
`training_thread.py`; multigrid_memory spec 5.3) and test mode.

Per chunk (truncated BPTT): draw the next chunk of the episode (spec 4.1; a new
episode starts from the zero memory with new mazes), set the learning rate from
the global time step g (`linear_decay`), every LOG_INTERVAL time steps log
`Step g: loss = L` (forward only, before the update, as the original) with the
localisation quality on that chunk and on a fresh evaluation episode (not in
the original, which computes no metric), take one RMSProp step on the chunk's
summed loss with global-norm clipping, carry the final (c, h) of all 23 cells
into the next chunk without gradient, g += T.

Checkpoints (every SAVE_INTERVAL time steps, on Ctrl-C and at the end; saved
before the next chunk is drawn) hold the weights, RMSProp's slots, g, the memory
carried into the next chunk and the episode in progress (the mazes' RNG as the
episode began and its steps so far: it is replayed on restore, and the query
RNG), so a resumed run continues the same episode from the same chunk, as if it
had not stopped. The original saves the weights alone: a resumed run of it
starts a new episode and RMSProp again.
"""
import random
import time

import numpy as np
import tensorflow as tf

from common import distribute
from common.checkpoint import CheckpointError, CheckpointKeeper, JsonState, SaveSchedule, \
    StopOnInterrupt
from common.logs import OutputError, Summaries, format_duration
from common.optim import TF1RMSProp, clip_by_global_norm, linear_decay
from multigrid_memory.mapping_localization.data import EpisodeStream
from multigrid_memory.mapping_localization.model import LocalizationModel, localization_loss, \
    memory_size
from multigrid_memory.training import check_loss, check_weights, restart_rmsprop

METRICS = ('tp', 'predicted', 'positives', 'top1', 'queries')


class Memory(tf.Module):
  """The (c, h) of all 23 writer cells carried into the next chunk, as variables so
  that checkpoints hold the episode in progress. `[B, S, S, C]` each."""

  def __init__(self, model, batch_size):
    super().__init__(name='memory')
    zero = model.initial_state(batch_size)
    self.cells = [tf.Variable(tensor, trainable=False, name=f'{name}_{part}')
                  for name, state in zip(model.state_type._fields, zero)
                  for part, tensor in zip(('c', 'h'), state)]

  def assign(self, state):
    for variable, tensor in zip(self.cells, tf.nest.flatten(state)):
      variable.assign(tensor)

  def state_like(self, structure):
    """The saved memory, packed as `structure` (a `WriterState`)."""
    return tf.nest.pack_sequence_as(structure, [tf.identity(v) for v in self.cells])


def localisation_counts(logits, targets, threshold):
  """Sums over the queries of `[N, 2304]` (`[N, memory_size^2]`) logits against binary targets: true
  positives, predicted and true positive cells at sigmoid >= threshold, queries
  whose top-scoring cell is a true location (top1), and the number of queries."""
  predicted = tf.cast(tf.sigmoid(logits) >= threshold, logits.dtype)
  top = tf.gather(targets, tf.argmax(logits, axis=-1), axis=1, batch_dims=1)
  return {'tp': tf.reduce_sum(predicted * targets), 'predicted': tf.reduce_sum(predicted),
          'positives': tf.reduce_sum(targets), 'top1': tf.reduce_sum(top),
          'queries': tf.cast(tf.shape(logits)[0], logits.dtype)}


def localisation_quality(counts):
  """precision, recall of the thresholded maps (pooled over cells) and top-1 hit rate."""
  ratio = lambda a, b: float(counts[a]) / float(counts[b]) if float(counts[b]) else 0.0
  return {'precision': ratio('tp', 'predicted'), 'recall': ratio('tp', 'positives'),
          'top1': ratio('top1', 'queries')}


def chance_top1(targets, steps_before, batch_size, leak, episode_steps):
  """The summed top-1 hit rate of guessing a uniformly random visited cell (a map of
  the path that ignores the patterns), for a chunk's targets `[T B, cells]` whose
  first step is step `steps_before` of its episode: a query at step t has t + 1
  visited cells (t + 2 with the leak, whose target may mark the next one)."""
  steps = np.arange(targets.shape[0]) // batch_size + steps_before
  visited = np.minimum(steps + 1 + int(leak), episode_steps)
  return float(np.sum(targets.sum(-1) / visited))


class Trainer:
  """Args: args (the parsed constants), logger, run_config and settings (for checkpoints)."""

  def __init__(self, args, logger, run_config, settings):
    self.args, self.logger = args, logger
    self.strategy = distribute.make_strategy(args.DISTRIBUTE)
    distribute.check_batch(self.strategy, args.BATCH_SIZE)
    self.stream = self._stream(args.BATCH_SIZE, np.random.RandomState(args.SEED),
                               random.Random(args.SEED))
    with self.strategy.scope():   # mirrored variables when distributed
      self.model = LocalizationModel(seed=args.SEED, grids=args.GRIDS)
      self.variables = self.model.trainable_variables
      self.optimizer = TF1RMSProp(self.variables, lr=args.INITIAL_ALPHA, decay=args.RMSP_ALPHA,
                                  epsilon=args.RMSP_EPSILON)
    self.memory = Memory(self.model, args.BATCH_SIZE)   # the global batch, for checkpoints
    self.streams = JsonState()
    self.keeper = CheckpointKeeper(args.CHECKPOINT_DIR, run_config, args.MAX_KEEP_CHECKPOINTS,
                                   logger=logger, restart=args.RESTART and args.MODE == 'train',
                                   settings=settings, model=self.model, optimizer=self.optimizer,
                                   streams=self.streams, memory=self.memory)
    self.train_step = tf.function(self._train_step, jit_compile=args.JIT_COMPILE)
    self.chunk_forward = tf.function(self._chunk_forward, jit_compile=args.JIT_COMPILE)
    self.forward = tf.function(self._forward, jit_compile=args.JIT_COMPILE)
    self.state = self._zero_state()
    count = sum(int(v.shape.num_elements()) for v in self.variables)
    print(f'NUMBER OF PARAMETERS = {count}', flush=True)   # as the original prints it
    logger.info(f'NUMBER OF PARAMETERS = {count} in {len(self.variables)} tensors | '
                f'{distribute.replicas(self.strategy)} replica(s)')

  def _stream(self, batch_size, numpy_rng, python_rng, leak=None):
    args = self.args
    return EpisodeStream(batch_size, args.LOCAL_T_MAX, numpy_rng, python_rng,
                         leak=args.NEXT_POSITION_LEAK if leak is None else leak,
                         generic_map_size=args.GENERIC_MAP_SIZE, map_size=args.MAP_SIZE,
                         complexity=args.MAP_COMPLEXITY, density=args.MAP_DENSITY,
                         blank=args.BLANK_MAP, input_size=args.INPUT_SIZE,
                         memory_size=memory_size(args.GRIDS))

  # -- compiled steps ---------------------------------------------------------
  # Each replica runs the model on its share of the batch and returns its summed
  # loss and gradients; they are summed over the replicas, clipped and applied
  # once, in cross-replica context: the single-device step on the global batch.
  def _replica_gradients(self, inputs, queries, targets, state):
    state = tf.nest.map_structure(tf.stop_gradient, state)   # truncated BPTT
    with tf.GradientTape() as tape:
      logits, final = self.model(inputs, queries, state)
      loss = localization_loss(logits, targets)
    return loss, tape.gradient(loss, self.variables), final

  def _train_step(self, inputs, queries, targets, lr, state):
    loss, grads, final = self.strategy.run(self._replica_gradients,
                                           args=(inputs, queries, targets, state))
    loss, grads = distribute.sum_over_replicas(self.strategy, (loss, grads))
    self.optimizer.lr.assign(lr)
    grads, _ = clip_by_global_norm(grads, self.args.GRAD_NORM_CLIP)
    self.optimizer.apply_gradients(grads, self.variables)
    return loss, final

  def _replica_forward(self, inputs, queries, targets, state):
    logits, _ = self.model(inputs, queries, state)
    counts = localisation_counts(logits, targets, self.args.EVAL_THRESHOLD)
    return localization_loss(logits, targets), counts

  def _chunk_forward(self, inputs, queries, targets, state):
    """The training chunk's summed loss and localisation counts (the log's), per
    replica and summed."""
    values = self.strategy.run(self._replica_forward, args=(inputs, queries, targets, state))
    return distribute.sum_over_replicas(self.strategy, values)

  def _forward(self, inputs, queries, targets, state):
    """One undistributed chunk (evaluation episodes): (loss, counts, final state)."""
    logits, final = self.model(inputs, queries, state)
    counts = localisation_counts(logits, targets, self.args.EVAL_THRESHOLD)
    return localization_loss(logits, targets), counts, final

  def _zero_state(self):
    batch = self.args.BATCH_SIZE
    return distribute.split_structure(self.strategy, self.model.initial_state(batch), batch)

  def _tensors(self, chunk):
    """A training chunk as (distributed) tensors: inputs, queries, targets."""
    return distribute.split_batch(self.strategy, [chunk.inputs, chunk.queries, chunk.targets],
                                  self.args.BATCH_SIZE, time_major=(0, 1, 2))

  @staticmethod
  def _plain_tensors(chunk):
    return tf.constant(chunk.inputs), tf.constant(chunk.queries), tf.constant(chunk.targets)

  # -- evaluation -------------------------------------------------------------
  def evaluate(self, step, batch_size=None):
    """Localisation quality over one fresh episode of `batch_size` mazes (EVAL_BATCH_SIZE),
    drawn from RNGs seeded by (SEED, step) so that evaluation never moves the training
    stream. Returns (quality dict, mean summed loss per chunk step and query)."""
    b = batch_size or self.args.EVAL_BATCH_SIZE
    stream = self._stream(b, np.random.RandomState([self.args.SEED, 1, step]),
                          random.Random(f'{self.args.SEED}/eval/{step}'))
    state, totals, loss = self.model.initial_state(b), dict.fromkeys(METRICS, 0.0), 0.0
    chance, episode_steps = 0.0, (self.args.MAP_SIZE - 2) ** 2
    while True:
      done = stream.steps_done
      chunk = stream.next_chunk()
      chunk_loss, counts, state = self.forward(*self._plain_tensors(chunk), state)
      loss += float(chunk_loss)
      for key in METRICS:
        totals[key] += float(counts[key])
      chance += chance_top1(chunk.targets, done, b, self.args.NEXT_POSITION_LEAK, episode_steps)
      if stream.episode_end:
        break
    quality = localisation_quality(totals)
    quality['chance_top1'] = chance / totals['queries']
    return quality, loss / totals['queries']

  # -- checkpoints ------------------------------------------------------------
  def _restore(self, train=True):
    step = self.keeper.restore(train=train)
    if step is not None and self.streams.value:
      self.stream.set_state(self.streams.value['train'])
      self.state = distribute.split_structure(
          self.strategy, self.memory.state_like(self.model.initial_state(self.args.BATCH_SIZE)),
          self.args.BATCH_SIZE)
    if step is not None and train and self.args.RESTART_RMSPROP_ON_RESUME:
      restart_rmsprop(self.optimizer, self.logger)
    return step

  def _save(self, step):
    check_weights(self.variables, step, self.keeper)
    self.streams.value = {'train': self.stream.state()}
    self.memory.assign(distribute.gather_batch(self.strategy, self.state))
    path = self.keeper.save(step)
    self.saved_step = step
    where = ('between episodes' if self.stream.episode_end else
             f'episode {self.stream.episodes}, after its step {self.stream.steps_done}')
    self.logger.info(f'Saved checkpoint at time step {step} ({where}): {path}')

  # -- the loop ---------------------------------------------------------------
  def _visualize(self, step, prefix=''):
    from multigrid_memory.mapping_localization import visualize
    args = self.args
    if not args.NUM_VIS_ENVS:
      return None
    directory = visualize.write_episode(self, step, prefix)
    self.logger.info(f'Figures of time step {step}: {directory}')
    return directory

  def fit(self):
    args, log = self.args, self.logger
    step = self._restore()
    if step is None:
      step = 0
    else:
      where = ('a new episode' if self.stream.episode_end else
               f'episode {self.stream.episodes} at its step {self.stream.steps_done}')
      log.info(f'Resumed at time step {step} from {self.keeper.latest}; continuing with {where}')
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
          if step - last_save >= args.SAVE_INTERVAL or saving.due(step):
            self._save(step)   # before this chunk is drawn: a resume draws it again
            saving.saved()
            last_save = step
          chunk = self.stream.next_chunk()
          if chunk.first:
            self.state = self._zero_state()
          tensors = self._tensors(chunk)
          lr = linear_decay(step, args.INITIAL_ALPHA, args.END_ALPHA, args.END_DECAY_TIME)
          if step - last_log >= args.LOG_INTERVAL or step == 0:
            self._log(step, tensors, lr, summaries, start)
            last_log = step
          _, self.state = self.train_step(*tensors, lr, self.state)
          step += len(chunk.query_indices)
      except OutputError:
        self._save(step)
        raise
      if step != self.saved_step:
        self._save(step)
      if interrupt.requested:
        log.info(f'Interrupted at time step {step}; checkpoint saved, run again to resume.')
    traces = self.train_step.experimental_get_tracing_count()
    log.info(f'total time: {format_duration(time.perf_counter() - start)} | the training step was '
             f'traced {traces} time(s), once per chunk length')
    return step

  def _log(self, step, tensors, lr, summaries, start):
    args, log = self.args, self.logger
    loss, counts = self.chunk_forward(*tensors, self.state)
    loss = float(loss)
    check_loss(loss, step, self.keeper)
    train = localisation_quality(counts)
    log.info(f'Step {step}: loss = {loss}')
    scalars = {'loss': loss, **{f'train_{k}': v for k, v in train.items()}}
    line = (f'Step {step}: this chunk: precision {train["precision"]:.3f} recall '
            f'{train["recall"]:.3f} top-1 {train["top1"]:.3f}')
    if args.EVAL_BATCH_SIZE:
      quality, eval_loss = self.evaluate(step)
      scalars.update({f'eval_{k}': v for k, v in quality.items()}, eval_loss=eval_loss)
      line += (f' | fresh episode ({args.EVAL_BATCH_SIZE} mazes): precision '
               f'{quality["precision"]:.3f} recall {quality["recall"]:.3f} top-1 '
               f'{quality["top1"]:.3f} (a random visited cell: {quality["chance_top1"]:.3f}) '
               f'loss/query {eval_loss:.2f}')
    log.info(f'{line} | lr {float(lr):.3g} | {format_duration(time.perf_counter() - start)}')
    summaries.scalars(step, **scalars)

  def test(self):
    step = self._restore(train=False)
    if step is None:
      raise CheckpointError(f'no checkpoint in {self.args.CHECKPOINT_DIR!r} to test; train '
                            'first (--mode=train) or pass --checkpoint_dir')
    quality, loss = self.evaluate(step, max(self.args.EVAL_BATCH_SIZE, 1))
    self._visualize(step, prefix='test_')
    self.logger.info(
        f'Test at time step {step}: one fresh episode of {max(self.args.EVAL_BATCH_SIZE, 1)} '
        f'mazes: precision {quality["precision"]:.4f} recall {quality["recall"]:.4f} top-1 '
        f'{quality["top1"]:.4f} (a random visited cell: {quality["chance_top1"]:.4f}) '
        f'loss/query {loss:.3f}')
    return quality

"""The MNIST associative recall model (trihuynh88/multigrid_mem `MNISTRecallModel`;
multigrid_memory spec 3.2), on the blocks of `common/kernels/multigrid.py`.

Writer: 5 multigrid ConvLSTM layers over the {3, 6, 12} pyramid of each input
image (15 cells, batch norm on every cell's output sequence), with residuals
W3 += pad(W1) and W5 += pad(W3). Reader, on the query's pyramid: conv -> ReLU ->
batch norm layers; after reader layer k (1..5) every grid is concatenated with
writer layer k's output at the last time step; R3 += R1cat, R5 += R3cat; then
R10, R11, R12 ({3, 6}), R13 ({3, 6}, += R11), R14 ({3} x 10) and a fully
connected 90 -> 10. Layers are numbered as the original (6-9 do not exist).
211,408 trainable parameters in 166 tensors.

Two forms of the writer give the same result (spec 2.4): `write`, layer by
layer over the whole sequence (the original's, used to train), and
`write_steps`, every layer at each time step in turn, which `trace` uses to
return every per-step quantity by name (states, gates, outputs) for figures and
checks. The writer's batch norm takes its statistics over the whole sequence,
so the step-by-step form is handed them (`trace` takes them from `write`).

Batch norm always normalises with batch statistics and never uses its moving
averages, as the original (whose update ops never run). `moving_statistics=True`
is the fix: training updates moving averages (decay 0.999), and `training=False`
normalises with them.

Shapes: `T` steps, `B` batch; sequences are time-major `[T B, ...]` (row t B + b).
"""
import collections

import tensorflow as tf

from common.kernels import multigrid as mg

SIZES = (3, 6, 12)                                   # the pyramid's grids, coarsest first
WRITER_CHANNELS = (4, 4, 8, 8, 16)                   # W1..W5
# Reader layers: (name, output channels, number of grids kept, coarsest first).
READER = (('R1', 4, 3), ('R2', 4, 3), ('R3', 8, 3), ('R4', 8, 3), ('R5', 16, 3),
          ('R10', 16, 3), ('R11', 16, 3), ('R12', 16, 2), ('R13', 16, 2), ('R14', 10, 1))
NUM_CLASSES = 10
BN_DECAY = 0.999                                     # tf.contrib.layers.batch_norm's default


def gathered_channels(channels, count, level):
  """Input channels of grid `level` gathered from a pyramid of `count` grids of
  `channels` each (up, same, down where they exist)."""
  parts = sum(1 for j in (level - 1, level, level + 1) if 0 <= j < count)
  return channels * parts


class MNISTRecallModel(tf.Module):
  """Args:
    batch_size: B (the original's 32, baked into its reshapes; here any, and the
      calls take B from their inputs, so a replica's share of a batch works too).
    seq_len: T (10).
    seed: for the initialisers (stateless: the same seed, the same weights).
    dtype: tf.float32 or tf.float64.
    moving_statistics: False (the original): batch norm uses batch statistics
      always; True: it keeps moving averages, used when `training=False`.
    loop: how `write` runs each cell over time: 'unroll' (static unroll, the
      default: faster here) or 'while' (`tf.while_loop`); see `mg.memory_layer`.
  """

  def __init__(self, batch_size=32, seq_len=10, seed=0, dtype=tf.float32,
               moving_statistics=False, loop='unroll', name='mnist_recall'):
    super().__init__(name=name)
    self.loop = loop
    self.batch_size, self.seq_len, self.dtype = batch_size, seq_len, dtype
    counter = iter(range(10 ** 6))
    next_seed = lambda: tf.constant([seed, next(counter)], tf.int64)
    variable = lambda value, label: tf.Variable(value, name=label)
    self.writer = []                                 # [layer][level] = (kernel, bias, gamma, beta)
    previous = 1                                     # the image pyramid has 1 channel per grid
    for layer, channels in enumerate(WRITER_CHANNELS, start=1):
      cells = []
      for level in range(len(SIZES)):
        c_in = gathered_channels(previous, len(SIZES), level)
        kernel, bias = mg.conv_lstm_params(c_in, channels, next_seed(), dtype)
        cells.append((variable(kernel, f'W{layer}_{level}_kernel'),
                      variable(bias, f'W{layer}_{level}_bias'),
                      variable(tf.ones([channels], dtype), f'W{layer}_{level}_gamma'),
                      variable(tf.zeros([channels], dtype), f'W{layer}_{level}_beta')))
      self.writer.append(cells)
      previous = channels
    self.reader = {}
    count, previous = len(SIZES), 1                  # the query pyramid
    for index, (label, channels, kept) in enumerate(READER):
      convs = []
      for level in range(kept):
        c_in = gathered_channels(previous, count, level)
        kernel, bias = mg.conv_params(c_in, channels, next_seed(), dtype)
        convs.append((variable(kernel, f'{label}_{level}_kernel'),
                      variable(bias, f'{label}_{level}_bias'),
                      variable(tf.ones([channels], dtype), f'{label}_{level}_gamma'),
                      variable(tf.zeros([channels], dtype), f'{label}_{level}_beta')))
      self.reader[label] = convs
      # R1..R5 are concatenated with the writer layer of the same number.
      previous = channels + (WRITER_CHANNELS[index] if index < len(WRITER_CHANNELS) else 0)
      count = kept
    fan_in = SIZES[0] * SIZES[0] * NUM_CLASSES
    self.fc_kernel = variable(mg.fan_in_uniform([fan_in, NUM_CLASSES], fan_in, next_seed(), dtype),
                              'fc_kernel')
    self.fc_bias = variable(mg.fan_in_uniform([NUM_CLASSES], fan_in, next_seed(), dtype),
                            'fc_bias')
    self.moving = {}                                 # batch-norm site -> (mean, variance)
    if moving_statistics:
      sites = [(mg.cell_name(layer, level), cell[2].shape[0])
               for layer, cells in enumerate(self.writer, start=1)
               for level, cell in enumerate(cells)]
      sites += [(f'{label}_{level}', conv[2].shape[0])
                for label, convs in self.reader.items() for level, conv in enumerate(convs)]
      for site, channels in sites:
        self.moving[site] = (
            tf.Variable(tf.zeros([channels], dtype), trainable=False, name=f'{site}_moving_mean',
                        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA),
            tf.Variable(tf.ones([channels], dtype), trainable=False,
                        name=f'{site}_moving_variance',
                        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA))

  # -- batch norm -------------------------------------------------------------
  def _normalise(self, x, site, gamma, beta, training):
    """Batch norm at `site` (a cell or reader-grid name). Returns (output, (mean,
    variance) used): batch statistics, except with moving averages when they are
    kept and `training` is False; training updates the moving averages."""
    if self.moving and not training:
      mean, variance = (tf.convert_to_tensor(v) for v in self.moving[site])
    else:
      mean, variance = mg.batch_norm_moments_across_replicas(x)
      if self.moving:
        for average, value in zip(self.moving[site], (mean, variance)):
          average.assign(BN_DECAY * average + (1 - BN_DECAY) * value)
    return mg.batch_norm_apply(x, mean, variance, gamma, beta), (mean, variance)

  # -- writer -----------------------------------------------------------------
  @staticmethod
  def _writer_residuals(layer, new, outputs):
    """W3 += pad(W1), W5 += pad(W3), on every grid (spec 3.2)."""
    if layer == 3:
      return [mg.residual_extra(a, b) for a, b in zip(outputs[0], new)]
    if layer == 5:
      return [mg.residual_extra(a, b) for a, b in zip(outputs[2], new)]
    return new

  def _zero_states(self, cells, batch):
    return mg.zero_states(batch, SIZES, cells[0][0].shape[-1] // 4, self.dtype)

  def write(self, images, training=True, statistics=None):
    """The writer over the whole sequence, layer by layer (the original's form).

    Args:
      images: `[T B, 28, 28, 1]`, time-major, raw 0-255 pixels.
      training: see `moving_statistics`.
      statistics: a dict that, if given, receives each cell's batch-norm
        (mean, variance) `[C]` under its `mg.cell_name`.
    Returns:
      list of the 5 writer layers' outputs, each a list of 3 `[T B, S, S, C]`
      grids (after batch norm and residuals, as the reader reads them).
    """
    pyramid = mg.image_pyramid(images, SIZES)
    batch = images.shape[0] // self.seq_len
    outputs = []
    for layer, cells in enumerate(self.writer, start=1):
      hs, _, _ = mg.memory_layer(pyramid, self._zero_states(cells, batch),
                                 [cell[:2] for cell in cells],
                                 self.seq_len, loop=self.loop)
      new = []
      for level, (h, cell) in enumerate(zip(hs, cells)):
        normalised, used = self._normalise(h, mg.cell_name(layer, level), *cell[2:], training)
        new.append(normalised)
        if statistics is not None:
          statistics[mg.cell_name(layer, level)] = used
      pyramid = self._writer_residuals(layer, new, outputs)
      outputs.append(pyramid)
    return outputs

  def write_steps(self, images, statistics):
    """The writer step by step: at each time step every layer in turn (spec 2.4).

    Args:
      images: as `write`.
      statistics: each cell's batch-norm (mean, variance), by `mg.cell_name`
        (from `write(..., statistics=...)`: they span the whole sequence).
    Returns:
      (outputs as `write` returns them, a dict of per-step quantities `[T, B, S, S, C]`
      named '<cell>/<q>', q = c, h (the LSTM state), i, j, f, o (gates) and output
      (after batch norm and residuals)).
    """
    steps = self.seq_len
    inputs = [tf.split(grid, steps, axis=0) for grid in mg.image_pyramid(images, SIZES)]
    states = [self._zero_states(cells, images.shape[0] // steps) for cells in self.writer]
    record = collections.defaultdict(list)
    by_step = []                                     # [t][layer][level] outputs
    for t in range(steps):
      pyramid, layers = [grid[t] for grid in inputs], []
      for index, cells in enumerate(self.writer):
        layer = index + 1
        states[index], gates = mg.memory_layer_step(pyramid, states[index],
                                                    [cell[:2] for cell in cells])
        new = []
        for level, (state, gate, cell) in enumerate(zip(states[index], gates, cells)):
          name = mg.cell_name(layer, level)
          new.append(mg.batch_norm_apply(state.h, *statistics[name], *cell[2:]))
          for key, value in (('c', state.c), ('h', state.h), *zip(mg.Gates._fields, gate)):
            record[f'{name}/{key}'].append(value)
        pyramid = self._writer_residuals(layer, new, layers)
        for level, grid in enumerate(pyramid):
          record[f'{mg.cell_name(layer, level)}/output'].append(grid)
        layers.append(pyramid)
      by_step.append(layers)
    outputs = [[tf.concat([by_step[t][index][level] for t in range(steps)], axis=0)
                for level in range(len(SIZES))] for index in range(len(self.writer))]
    return outputs, {key: tf.stack(values) for key, values in record.items()}

  # -- reader -----------------------------------------------------------------
  def _reader_layer(self, label, pyramid, training, record):
    convs = self.reader[label]
    grids = mg.conv_layer(pyramid, [conv[:2] for conv in convs])
    outputs = []
    for level, (grid, conv) in enumerate(zip(grids, convs)):
      outputs.append(self._normalise(grid, f'{label}_{level}', *conv[2:], training)[0])
      if record is not None:
        record[f'{label}_{level}'] = outputs[-1]
    return outputs

  def read(self, query, written, training=True, record=None):
    """The reader on the query `[B, 28, 28, 1]`, given the writer's outputs. Returns
    logits `[B, 10]`; `record`, a dict, receives each reader grid `[B, S, S, C]`
    (after its batch norm) as '<layer>_<level>'."""
    batch = query.shape[0]
    last = [[grid[-batch:] for grid in layer] for layer in written]  # step T-1
    concat = lambda a, b: [tf.concat([x, y], axis=-1) for x, y in zip(a, b)]
    layer = lambda label, pyramid: self._reader_layer(label, pyramid, training, record)
    r1 = concat(layer('R1', mg.image_pyramid(query, SIZES)), last[0])
    r2 = concat(layer('R2', r1), last[1])
    r3 = concat([mg.residual(a, b) for a, b in zip(r1, layer('R3', r2))], last[2])
    r4 = concat(layer('R4', r3), last[3])
    r5 = concat([mg.residual(a, b) for a, b in zip(r3, layer('R5', r4))], last[4])
    r10 = layer('R10', r5)
    r11 = layer('R11', r10)
    r12 = layer('R12', r11)
    r13 = [mg.residual(a, b) for a, b in zip(r11[:2], layer('R13', r12))]
    r14 = layer('R14', r13)[0]                                        # [B, 3, 3, 10]
    flat = tf.reshape(r14, [-1, SIZES[0] * SIZES[0] * NUM_CLASSES])   # row-major H, W, C
    return tf.matmul(flat, self.fc_kernel) + self.fc_bias

  def __call__(self, images, query, training=True):
    """Logits `[B, 10]` for the class of the digit after the query."""
    return self.read(query, self.write(images, training), training)

  def trace(self, images, query):
    """Every quantity of one forward pass by name (the writer run step by step):
    '<cell>/c', '/h', '/i', '/j', '/f', '/o', '/output' `[T, B, S, S, C]` and
    '<cell>/bn_mean', '/bn_variance' `[C]` for each writer cell 'W<layer>_<level>';
    '<layer>_<level>' `[B, S, S, C]` for each reader grid; 'logits' `[B, 10]` and
    'prediction' (softmax). Normalises as `training=False` does and updates no
    moving averages."""
    statistics = {}
    self.write(images, training=False, statistics=statistics)
    written, values = self.write_steps(images, statistics)
    for name, (mean, variance) in statistics.items():
      values[f'{name}/bn_mean'], values[f'{name}/bn_variance'] = mean, variance
    logits = self.read(query, written, training=False, record=values)
    values['logits'], values['prediction'] = logits, tf.nn.softmax(logits)
    return values


def recall_loss(logits, target):
  """The original's loss: sparse softmax cross-entropy summed over the batch."""
  return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target,
                                                                      logits=logits))

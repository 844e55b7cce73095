"""The mapping & localization model (trihuynh88/multigrid_mem `LocalizationModel`;
multigrid_memory spec 3.1), on the blocks of `common/kernels/multigrid.py`.

Writer: 7 multigrid ConvLSTM layers, 23 cells, the observation entering at the
coarsest (3 x 3) grid only; W3 += pad(W1), W5 += pad(W3), W7 += W5 on the grids
they share. Reader, on the queries: R1..R7 (multigrid convs, ReLU), each followed
by the concatenation of every grid with writer layer k's output at the same time
step (the reader runs on all T B queries at once: query t sees the memory after
observation t); R3 += R1cat, R5 += R3cat; R8..R14 "reverse" layers that keep the
finest scales (R11 += R9, R13 += R11), R14 without ReLU: one 48 x 48 map of logits
per query, 2304 flattened row-major. No normalisation. 650,225 trainable parameters
in 130 tensors.

Reduced models (`grids` < 5, not in the original): the same layers on the pyramid's
`grids` coarsest grids only. Every layer keeps min(g, grids) of its g grids
(the coarsest; a reverse layer keeps its min(g, grids) finest of those), so the
output is the 3 x 2^(grids - 1) grid: 12 x 12 for 3 grids.

The memory's (c, h) is carried across chunks of an episode (truncated BPTT): `write`
takes the chunk's initial `WriterState` and returns the final one. Two forms of the
writer give the same result (spec 2.4): `write`, layer by layer over the whole chunk
(the original's), and `write_steps`, every layer at each step in turn, which `trace`
uses to return every per-step quantity by name.

Shapes: `T` steps of the chunk, `B` batch (taken from the state, so a replica's
share of a batch works as well); sequences are time-major `[T B, ...]` (row t B + b).
"""
import collections

import tensorflow as tf

from common.kernels import multigrid as mg

INPUT_SIZE = 3                                       # the coarsest grid; the others are 3 x 2^k
CHANNELS = 4                                         # free, wall, generic row, generic column
MEMORY_SIZE = 48                                     # the output grid
# Writer layers: (output grids, channels); W1 reads the observation alone.
WRITER = ((2, 4), (2, 4), (3, 8), (3, 8), (4, 16), (4, 16), (5, 16))
# Writer residuals: layer -> the earlier layer whose grids are added (zero-padded on channels).
WRITER_RESIDUALS = {3: 1, 5: 3, 7: 5}
# Reader layers: (name, output grids, channels, reverse).
READER = (('R1', 2, 4, False), ('R2', 2, 4, False), ('R3', 3, 8, False), ('R4', 3, 8, False),
          ('R5', 4, 16, False), ('R6', 4, 16, False), ('R7', 5, 16, False),
          ('R8', 4, 16, True), ('R9', 4, 16, True), ('R10', 3, 16, True), ('R11', 3, 16, True),
          ('R12', 2, 16, True), ('R13', 2, 16, True), ('R14', 1, 1, True))
SIZES = tuple(INPUT_SIZE * 2 ** k for k in range(5))  # 3, 6, 12, 24, 48
GRIDS = len(SIZES)                                   # the original's pyramid
WriterState = mg.writer_state_type([grids for grids, _ in WRITER], 'LocalizationWriterState')


def reduced_layers(grids):
  """(writer, reader) layer tables of a model on the `grids` coarsest grids."""
  if not 1 <= grids <= GRIDS:
    raise ValueError(f'grids={grids}: use 1..{GRIDS}')
  writer = tuple((min(g, grids), c) for g, c in WRITER)
  reader = tuple((label, min(g, grids), c, reverse) for label, g, c, reverse in READER)
  return writer, reader


def memory_size(grids=GRIDS):
  """The output grid's side for a pyramid of `grids` grids (48 for the original)."""
  return SIZES[grids - 1]


def state_type(grids=GRIDS):
  """The `WriterState` namedtuple type of a model on `grids` grids."""
  if grids == GRIDS:
    return WriterState
  writer, _ = reduced_layers(grids)
  return mg.writer_state_type([g for g, _ in writer], f'LocalizationWriterState{grids}')


def gathered_channels(channels, count, level):
  """Input channels of grid `level` gathered from `count` grids of `channels` each."""
  return channels * sum(1 for j in (level - 1, level, level + 1) if 0 <= j < count)


class LocalizationModel(tf.Module):
  """Args:
    seed: for the initialisers (stateless: the same seed, the same weights).
    dtype: tf.float32 or tf.float64.
    grids: 5, the original; fewer for a reduced model (see the module's docstring).
  """

  def __init__(self, seed=0, dtype=tf.float32, grids=GRIDS, name='localization'):
    super().__init__(name=name)
    self.dtype, self.grids = dtype, grids
    self.writer_layers, self.reader_layers = reduced_layers(grids)
    self.memory_size = memory_size(grids)
    self.state_type = state_type(grids)
    counter = iter(range(10 ** 6))
    next_seed = lambda: tf.constant([seed, next(counter)], tf.int64)
    self.writer = []                                 # [layer][level] = (kernel, bias)
    count, previous = 1, CHANNELS                    # W1 reads the observation alone
    for layer, (grids, channels) in enumerate(self.writer_layers, start=1):
      cells = []
      for level in range(grids):
        kernel, bias = mg.conv_lstm_params(gathered_channels(previous, count, level), channels,
                                           next_seed(), dtype)
        cells.append((tf.Variable(kernel, name=f'W{layer}_{level}_kernel'),
                      tf.Variable(bias, name=f'W{layer}_{level}_bias')))
      self.writer.append(cells)
      count, previous = grids, channels
    self.reader = {}
    count, previous = 1, CHANNELS                    # R1 reads the query alone
    for index, (label, grids, channels, reverse) in enumerate(self.reader_layers):
      offset = count - grids if reverse else 0
      convs = []
      for level in range(grids):
        kernel, bias = mg.conv_params(gathered_channels(previous, count, offset + level),
                                      channels, next_seed(), dtype)
        convs.append((tf.Variable(kernel, name=f'{label}_{level}_kernel'),
                      tf.Variable(bias, name=f'{label}_{level}_bias')))
      self.reader[label] = convs
      # R1..R7 are concatenated with the writer layer of the same number.
      previous = channels + (WRITER[index][1] if index < len(WRITER) else 0)
      count = grids

  # -- state ------------------------------------------------------------------
  def initial_state(self, batch_size):
    """The zero `WriterState` of an episode's start: 23 (c, h) `[B, S, S, C]`."""
    return self.state_type(*[state for grids, channels in self.writer_layers
                             for state in mg.zero_states(batch_size, SIZES[:grids], channels,
                                                         self.dtype)])

  def _by_layer(self, state):
    """A `WriterState` as a list of per-layer lists of `ConvLSTMState`."""
    states, flat = [], list(state)
    for grids, _ in self.writer_layers:
      states.append(flat[:grids])
      flat = flat[grids:]
    return states

  @staticmethod
  def _residuals(layer, new, outputs):
    if layer not in WRITER_RESIDUALS:
      return new
    earlier = outputs[WRITER_RESIDUALS[layer] - 1]
    add = mg.residual_extra if earlier[0].shape[-1] != new[0].shape[-1] else mg.residual
    return [add(a, b) for a, b in zip(earlier, new)] + new[len(earlier):]

  # -- writer -----------------------------------------------------------------
  def write(self, inputs, state):
    """The writer over a chunk, layer by layer (the original's form).

    Args:
      inputs: `[T B, 3, 3, 4]` observations, time-major.
      state: the chunk's initial `WriterState` (zeros at an episode's start).
    Returns:
      (list of the 7 layers' outputs, each a list of `[T B, S, S, C]` grids after
      the residuals, as the reader reads them; the final `WriterState`).
    """
    batch = state[0].h.shape[0]
    steps = inputs.shape[0] // batch
    pyramid, outputs, final = [inputs], [], []
    for layer, (cells, states) in enumerate(zip(self.writer, self._by_layer(state)), start=1):
      hs, last, _ = mg.memory_layer(pyramid, states, cells, steps)
      pyramid = self._residuals(layer, hs, outputs)
      outputs.append(pyramid)
      final.extend(last)
    return outputs, self.state_type(*final)

  def write_steps(self, inputs, state):
    """The writer step by step: at each step every layer in turn (spec 2.4).

    Args: as `write`.
    Returns:
      (outputs and final state as `write` returns them, a dict of per-step
      quantities `[T, B, S, S, C]` named '<cell>/<q>', q = c, h (the LSTM state),
      i, j, f, o (gates) and output (after the residuals)).
    """
    batch = state[0].h.shape[0]
    steps = inputs.shape[0] // batch
    states = self._by_layer(state)
    record = collections.defaultdict(list)
    by_step = []
    for t in range(steps):
      pyramid, layers = [inputs[t * batch:(t + 1) * batch]], []
      for index, cells in enumerate(self.writer):
        layer = index + 1
        states[index], gates = mg.memory_layer_step(pyramid, states[index], cells)
        for level, (cell_state, gate) in enumerate(zip(states[index], gates)):
          name = mg.cell_name(layer, level)
          for key, value in (('c', cell_state.c), ('h', cell_state.h),
                             *zip(mg.Gates._fields, gate)):
            record[f'{name}/{key}'].append(value)
        pyramid = self._residuals(layer, [s.h for s in states[index]], layers)
        for level, grid in enumerate(pyramid):
          record[f'{mg.cell_name(layer, level)}/output'].append(grid)
        layers.append(pyramid)
      by_step.append(layers)
    outputs = [[tf.concat([by_step[t][index][level] for t in range(steps)], axis=0)
                for level in range(grids)] for index, (grids, _) in enumerate(self.writer_layers)]
    final = self.state_type(*[s for layer in states for s in layer])
    return outputs, final, {key: tf.stack(values) for key, values in record.items()}

  # -- reader -----------------------------------------------------------------
  def read(self, queries, written, record=None):
    """The reader on all T B queries `[T B, 3, 3, 4]`, given the writer's outputs.
    Returns logits `[T B, 2304]` (`[T B, memory_size^2]`); `record`, a dict, receives each reader grid
    `[T B, S, S, C]` as '<layer>_<level>'."""
    def layer(label, pyramid):
      _, _, _, reverse = READER[[r[0] for r in READER].index(label)]
      activation = None if label == 'R14' else tf.nn.relu
      grids = mg.conv_layer(pyramid, self.reader[label], reverse=reverse, activation=activation)
      if record is not None:
        for level, grid in enumerate(grids):
          record[f'{label}_{level}'] = grid
      return grids

    concat = lambda a, b: [tf.concat([x, y], axis=-1) for x, y in zip(a, b)]
    add = lambda a, b: [mg.residual(x, y) for x, y in zip(a, b)] + b[len(a):]
    r1 = concat(layer('R1', [queries]), written[0])
    r2 = concat(layer('R2', r1), written[1])
    r3 = concat(add(r1, layer('R3', r2)), written[2])
    r4 = concat(layer('R4', r3), written[3])
    r5 = concat(add(r3, layer('R5', r4)), written[4])
    r6 = concat(layer('R6', r5), written[5])
    r7 = concat(layer('R7', r6), written[6])
    r9 = layer('R9', layer('R8', r7))
    r11 = layer('R11', layer('R10', r9))
    r11 = [mg.residual(a, b) for a, b in zip(r9[-3:], r11)]          # the finest three
    r13 = layer('R13', layer('R12', r11))
    r13 = [mg.residual(a, b) for a, b in zip(r11[-2:], r13)]         # the finest two
    r14 = layer('R14', r13)[0]                                        # [T B, 48, 48, 1]
    return tf.reshape(r14, [-1, self.memory_size ** 2])

  def __call__(self, inputs, queries, state):
    """(logits `[T B, 2304]`, the final `WriterState`) of one chunk."""
    written, final = self.write(inputs, state)
    return self.read(queries, written), final

  def trace(self, inputs, queries, state):
    """Every quantity of one chunk by name (the writer run step by step):
    '<cell>/c', '/h', '/i', '/j', '/f', '/o', '/output' `[T, B, S, S, C]` for each
    writer cell 'W<layer>_<level>'; '<layer>_<level>' `[T B, S, S, C]` for each
    reader grid; 'logits' and 'prediction' (sigmoid) `[T B, 2304]`; and 'final',
    the final `WriterState`."""
    written, final, values = self.write_steps(inputs, state)
    logits = self.read(queries, written, record=values)
    values['logits'], values['prediction'] = logits, tf.sigmoid(logits)
    values['final'] = final
    return values


def localization_loss(logits, targets):
  """The original's loss: sigmoid cross-entropy summed over every query and cell."""
  return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits))

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

Shapes: `T` steps, `B` batch; sequences are time-major `[T B, ...]` (row t B + b).
"""
import tensorflow as tf

from common.kernels import multigrid as mg

SIZES = (3, 6, 12)                                   # the pyramid's grids, coarsest first
WRITER_CHANNELS = (4, 4, 8, 8, 16)                   # W1..W5
# Reader layers: (name, output channels, number of grids kept, coarsest first).
READER = (('R1', 4, 3), ('R2', 4, 3), ('R3', 8, 3), ('R4', 8, 3), ('R5', 16, 3),
          ('R10', 16, 3), ('R11', 16, 3), ('R12', 16, 2), ('R13', 16, 2), ('R14', 10, 1))
NUM_CLASSES = 10


def gathered_channels(channels, count, level):
  """Input channels of grid `level` gathered from a pyramid of `count` grids of
  `channels` each (up, same, down where they exist)."""
  parts = sum(1 for j in (level - 1, level, level + 1) if 0 <= j < count)
  return channels * parts


class MNISTRecallModel(tf.Module):
  """Args:
    batch_size: B (the original's 32, baked into its reshapes; here any).
    seq_len: T (10).
    seed: for the initialisers (stateless: the same seed, the same weights).
    dtype: tf.float32 or tf.float64.
  """

  def __init__(self, batch_size=32, seq_len=10, seed=0, dtype=tf.float32, name='mnist_recall'):
    super().__init__(name=name)
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

  # -- writer -----------------------------------------------------------------
  def write(self, images):
    """The writer over the whole sequence, layer by layer.

    Args:
      images: `[T B, 28, 28, 1]`, time-major, raw 0-255 pixels.
    Returns:
      list of the 5 writer layers' outputs, each a list of 3 `[T B, S, S, C]`
      grids (after batch norm and residuals, as the reader reads them).
    """
    steps, batch = self.seq_len, self.batch_size
    pyramid = mg.image_pyramid(images, SIZES)
    outputs = []
    for layer, cells in enumerate(self.writer, start=1):
      new = []
      for level, (kernel, bias, gamma, beta) in enumerate(cells):
        gathered = mg.gather(pyramid, level)                          # [T B, S, S, Cin]
        sequence = tf.split(gathered, steps, axis=0)                  # T x [B, S, S, Cin]
        size, channels = gathered.shape[1], kernel.shape[-1] // 4
        zero = tf.zeros([batch, size, size, channels], self.dtype)
        hs, _ = mg.conv_lstm_sequence(sequence, mg.ConvLSTMState(zero, zero), kernel, bias)
        new.append(mg.batch_norm_train(tf.concat(hs, axis=0), gamma, beta))
      if layer == 3:
        new = [mg.residual_extra(a, b) for a, b in zip(outputs[0], new)]
      elif layer == 5:
        new = [mg.residual_extra(a, b) for a, b in zip(outputs[2], new)]
      outputs.append(new)
      pyramid = new
    return outputs

  # -- reader -----------------------------------------------------------------
  def _reader_layer(self, label, pyramid):
    return [mg.batch_norm_train(mg.conv_relu(mg.gather(pyramid, level), kernel, bias), gamma, beta)
            for level, (kernel, bias, gamma, beta) in enumerate(self.reader[label])]

  def read(self, query, written):
    """The reader on the query, given the writer's outputs. Returns logits `[B, 10]`."""
    last = [[grid[-self.batch_size:] for grid in layer] for layer in written]  # step T-1
    concat = lambda a, b: [tf.concat([x, y], axis=-1) for x, y in zip(a, b)]
    r1 = concat(self._reader_layer('R1', mg.image_pyramid(query, SIZES)), last[0])
    r2 = concat(self._reader_layer('R2', r1), last[1])
    r3 = concat([mg.residual(a, b) for a, b in zip(r1, self._reader_layer('R3', r2))], last[2])
    r4 = concat(self._reader_layer('R4', r3), last[3])
    r5 = concat([mg.residual(a, b) for a, b in zip(r3, self._reader_layer('R5', r4))], last[4])
    r10 = self._reader_layer('R10', r5)
    r11 = self._reader_layer('R11', r10)
    r12 = self._reader_layer('R12', r11)
    r13 = [mg.residual(a, b) for a, b in zip(r11[:2], self._reader_layer('R13', r12))]
    r14 = self._reader_layer('R14', r13)[0]                           # [B, 3, 3, 10]
    flat = tf.reshape(r14, [-1, SIZES[0] * SIZES[0] * NUM_CLASSES])   # row-major H, W, C
    return tf.matmul(flat, self.fc_kernel) + self.fc_bias

  def __call__(self, images, query):
    """Logits `[B, 10]` for the class of the digit after the query."""
    return self.read(query, self.write(images))


def recall_loss(logits, target):
  """The original's loss: sparse softmax cross-entropy summed over the batch."""
  return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target,
                                                                      logits=logits))

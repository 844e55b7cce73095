"""An independent numpy implementation of the multigrid memory (spec 2) and of the
MNIST recall model (spec 3.2), written from the spec's text and tables, float64,
for checking the TensorFlow port from outside. Slow and plain on purpose."""
import numpy as np

# Spec 8.4: TF1's legacy nearest-neighbour source rows / columns for 28 -> 3, 6, 12.
LEGACY_INDICES = {3: [0, 9, 18], 6: [0, 4, 9, 14, 18, 23],
                  12: [0, 2, 4, 7, 9, 11, 14, 16, 18, 21, 23, 25]}


def sigmoid(x):
  return 1 / (1 + np.exp(-x))


def conv_same(x, kernel):
  """3x3 SAME cross-correlation `[N, H, W, I]` x `[3, 3, I, O]` -> `[N, H, W, O]`."""
  n, h, w, _ = x.shape
  padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
  out = np.zeros((n, h, w, kernel.shape[-1]))
  for dy in range(3):
    for dx in range(3):
      out += np.einsum('nhwi,io->nhwo', padded[:, dy:dy + h, dx:dx + w], kernel[dy, dx])
  return out


def conv_lstm(x, c, h, kernel, bias):
  """Spec 2.3: one kernel over [x, h], gates i, j, f, o, +1 on f. Returns (c, h)."""
  z = conv_same(np.concatenate([x, h], -1), kernel) + bias
  i, j, f, o = np.split(z, 4, axis=-1)
  c = sigmoid(f + 1.0) * c + sigmoid(i) * np.tanh(j)
  return c, np.tanh(c) * sigmoid(o)


def up(x):
  return x.repeat(2, axis=1).repeat(2, axis=2)


def down(x):
  n, h, w, c = x.shape
  return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def gather(pyramid, j):
  """Spec 2.2: up(j - 1), same(j), down(j + 1), whichever exist, on channels."""
  parts = []
  if 0 <= j - 1 < len(pyramid):
    parts.append(up(pyramid[j - 1]))
  if 0 <= j < len(pyramid):
    parts.append(pyramid[j])
  if 0 <= j + 1 < len(pyramid):
    parts.append(down(pyramid[j + 1]))
  return np.concatenate(parts, -1)


def batch_norm(x, gamma, beta):
  """Training-mode batch norm over all but the channel axis, biased variance, eps 1e-3."""
  mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
  return (x - mean) / np.sqrt(var + 1e-3) * gamma + beta


def pad_to(a, channels):
  return np.concatenate([a, np.zeros(a.shape[:-1] + (channels - a.shape[-1],))], -1)


def pyramid_of(images):
  return [images[:, LEGACY_INDICES[s]][:, :, LEGACY_INDICES[s]] for s in (3, 6, 12)]


def mnist_recall(weights, images, query, steps):
  """Spec 3.2. weights: {'W1_0_kernel': ..., 'R3_2_gamma': ..., 'fc_kernel': ...};
  images `[T B, 28, 28, 1]` time-major; query `[B, 28, 28, 1]`. Returns (logits
  `[B, 10]`, {cell: (c sequence, h sequence) `[T, B, S, S, C]`})."""
  w = lambda name: weights[name]
  batch = len(query)
  pyramid, writer, states = pyramid_of(images), [], {}
  for layer, channels in enumerate((4, 4, 8, 8, 16), start=1):
    new = []
    for k in range(3):
      name = f'W{layer}_{k}'
      x = gather(pyramid, k)
      c = h = np.zeros((batch,) + x.shape[1:3] + (channels,))
      cs, hs = [], []
      for t in range(steps):
        c, h = conv_lstm(x[t * batch:(t + 1) * batch], c, h, w(name + '_kernel'), w(name + '_bias'))
        cs.append(c)
        hs.append(h)
      states[name] = (np.stack(cs), np.stack(hs))
      new.append(batch_norm(np.concatenate(hs), w(name + '_gamma'), w(name + '_beta')))
    if layer in (3, 5):
      new = [pad_to(a, channels) + b for a, b in zip(writer[layer - 3], new)]
    writer.append(new)
    pyramid = new
  last = [[grid[-batch:] for grid in layer] for layer in writer]

  def reader(label, inputs, kept):
    return [np.maximum(conv_same(gather(inputs, k), w(f'{label}_{k}_kernel')) + w(f'{label}_{k}_bias'), 0)
            for k in range(kept)]

  def bn(label, grids):
    return [batch_norm(g, w(f'{label}_{k}_gamma'), w(f'{label}_{k}_beta')) for k, g in enumerate(grids)]

  cat = lambda a, b: [np.concatenate([x, y], -1) for x, y in zip(a, b)]
  layer = lambda label, inputs, kept=3: bn(label, reader(label, inputs, kept))
  r1 = cat(layer('R1', pyramid_of(query)), last[0])
  r2 = cat(layer('R2', r1), last[1])
  r3 = cat([a + b for a, b in zip(r1, layer('R3', r2))], last[2])
  r4 = cat(layer('R4', r3), last[3])
  r5 = cat([a + b for a, b in zip(r3, layer('R5', r4))], last[4])
  r11 = layer('R11', layer('R10', r5))
  r12 = layer('R12', r11, 2)
  r13 = [a + b for a, b in zip(r11[:2], layer('R13', r12, 2))]
  r14 = layer('R14', r13, 1)[0]
  return r14.reshape(batch, 90) @ w('fc_kernel') + w('fc_bias'), states


def localization(weights, inputs, queries, steps, initial=None, grids=5):
  """Spec 3.1, from its tables. weights: {'W1_0_kernel': ..., 'R14_0_bias': ...};
  inputs and queries `[T B, 3, 3, 4]` time-major; initial: {cell: (c, h)} or None
  (zeros); grids < 5: the reduced model, every layer cut to its `grids` coarsest
  grids (a reverse layer keeps the finest of those). Returns (logits
  `[T B, S^2]`, S = 48 for 5 grids, {cell: (c sequence, h sequence) `[T, B, S, S, C]`})."""
  cut = lambda g: min(g, grids)
  w = lambda name: weights[name]
  batch = len(inputs) // steps
  writer_layers = [(2, 4), (2, 4), (3, 8), (3, 8), (4, 16), (4, 16), (5, 16)]
  pyramid, writer, states = [inputs], [], {}
  for layer, (count, channels) in enumerate(writer_layers, start=1):
    new = []
    for k in range(cut(count)):
      name = f'W{layer}_{k}'
      x = gather(pyramid, k)
      size = 3 * 2 ** k
      zero = np.zeros((batch, size, size, channels))
      c, h = initial[name] if initial else (zero, zero)
      cs, hs = [], []
      for t in range(steps):
        c, h = conv_lstm(x[t * batch:(t + 1) * batch], c, h, w(name + '_kernel'), w(name + '_bias'))
        cs.append(c)
        hs.append(h)
      states[name] = (np.stack(cs), np.stack(hs))
      new.append(np.concatenate(hs))
    if layer in (3, 5, 7):   # W3 += pad(W1), W5 += pad(W3), W7 += W5 where both have grids
      earlier = writer[layer - 3]
      new = [pad_to(a, channels) + b for a, b in zip(earlier, new)] + new[len(earlier):]
    writer.append(new)
    pyramid = new

  def conv(label, inputs_, count, reverse=False, relu=True):
    count = cut(count)
    first = len(inputs_) - count if reverse else 0
    out = []
    for k in range(count):
      y = conv_same(gather(inputs_, first + k), w(f'{label}_{k}_kernel')) + w(f'{label}_{k}_bias')
      out.append(np.maximum(y, 0) if relu else y)
    return out

  cat = lambda a, b: [np.concatenate([x, y], -1) for x, y in zip(a, b)]
  plus = lambda a, b: [x + y for x, y in zip(a, b)] + b[len(a):]
  r1 = cat(conv('R1', [queries], 2), writer[0])
  r2 = cat(conv('R2', r1, 2), writer[1])
  r3 = cat(plus(r1, conv('R3', r2, 3)), writer[2])
  r4 = cat(conv('R4', r3, 3), writer[3])
  r5 = cat(plus(r3, conv('R5', r4, 4)), writer[4])
  r6 = cat(conv('R6', r5, 4), writer[5])
  r7 = cat(conv('R7', r6, 5), writer[6])
  r8 = conv('R8', r7, 4, reverse=True)
  r9 = conv('R9', r8, 4, reverse=True)
  r10 = conv('R10', r9, 3, reverse=True)
  r11 = [a + b for a, b in zip(r9[-cut(3):], conv('R11', r10, 3, reverse=True))]
  r12 = conv('R12', r11, 2, reverse=True)
  r13 = [a + b for a, b in zip(r11[-cut(2):], conv('R13', r12, 2, reverse=True))]
  r14 = conv('R14', r13, 1, reverse=True, relu=False)[0]
  side = 3 * 2 ** (grids - 1)
  return r14.reshape(len(queries), side * side), states

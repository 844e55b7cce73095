"""The Recurrent Attention Model for classification (the original's `RAM.py`).

Modules as in the paper's Figure 1 and spec recurrent_attention.md 2-3:
`Retina` (glimpse sensor), `GlimpseNetwork`, `CoreNetwork` (ReLU RNN),
`LocationNetwork` (Gaussian policy), `ActionNetwork` (classifier), the scalar
`baseline` held by the loss, and `adjust_learning_rate`. `RecurrentAttention`
wires them into the T-glimpse unroll, which runs inside one `tf.function`.

Shapes: `B` batch, `S` image side, `T` glimpses, `K` scales, `w` glimpse side.
Locations are (row, column) in [-1, 1] (spec 2.1).
"""
from typing import NamedTuple

import tensorflow as tf
import tensorflow_probability as tfp

from common.kernels.glimpse import glimpse
from common.layers import torch_dense

NUM_CLASSES = 10


class Retina(tf.keras.layers.Layer):
  """Glimpse sensor: K squares around a location, each reduced to w x w (spec 2.2).

  Args:
    glimpse_size: `w`.
    num_scales: `K`; scale k covers `w * 2**(K-1-k)` pixels (coarsest first).
    reduce: 'bilinear' (align_corners, classification) or 'max' (Catch).
  """

  def __init__(self, glimpse_size, num_scales, reduce='bilinear', name='retina', **kwargs):
    super().__init__(name=name, **kwargs)
    self.glimpse_size, self.num_scales, self.reduce = glimpse_size, num_scales, reduce

  @property
  def output_dim(self):
    return self.num_scales * self.glimpse_size ** 2

  def call(self, images, locations, flatten=True):
    """Args: images `[B, S, S]`; locations `[B, 2]` (no gradient flows into them).
    Returns: `[B, K*w*w]` in (scale, row, column) order, or `[B, K, w, w]` if not `flatten`."""
    patches = glimpse(images, locations, self.glimpse_size, self.num_scales, self.reduce)
    if not flatten:
      return patches
    return tf.reshape(patches, [-1, self.output_dim])


class GlimpseNetwork(tf.keras.layers.Layer):
  """g = ReLU(fc_gg(ReLU(fc_g(rho))) + fc_lg(ReLU(fc_l(l)))) (spec 2.3), two biases."""

  def __init__(self, retina, glimpse_hidden=128, loc_hidden=128, output_dim=256,
               name='glimpse_network', **kwargs):
    super().__init__(name=name, **kwargs)
    self.retina = retina
    self.output_dim = output_dim
    self.fc_g = torch_dense(glimpse_hidden, retina.output_dim, 'fc_g')
    self.fc_l = torch_dense(loc_hidden, 2, 'fc_l')
    self.fc_gg = torch_dense(output_dim, glimpse_hidden, 'fc_gg')
    self.fc_lg = torch_dense(output_dim, loc_hidden, 'fc_lg')

  def embed(self, rho, locations):
    """Args: rho `[B, K*w*w]` retina output; locations `[B, 2]`. Returns g `[B, output_dim]`."""
    h_g = tf.nn.relu(self.fc_g(rho))
    h_l = tf.nn.relu(self.fc_l(locations))
    return tf.nn.relu(self.fc_gg(h_g) + self.fc_lg(h_l))

  def call(self, images, locations):
    """Args: images `[B, S, S]`; locations `[B, 2]`. Returns g `[B, output_dim]`."""
    return self.embed(self.retina(images, locations), locations)


class CoreNetwork(tf.keras.layers.Layer):
  """Elman RNN with ReLU: h_t = ReLU(i2h(g_t) + h2h(h_{t-1})) (spec 2.4), h_0 = 0."""

  def __init__(self, input_dim=256, hidden_dim=256, name='core_network', **kwargs):
    super().__init__(name=name, **kwargs)
    self.hidden_dim = hidden_dim
    self.i2h = torch_dense(hidden_dim, input_dim, 'i2h')
    self.h2h = torch_dense(hidden_dim, hidden_dim, 'h2h')

  def call(self, g, h):
    """Args: g `[B, input_dim]`; h `[B, hidden_dim]`. Returns `[B, hidden_dim]`."""
    return tf.nn.relu(self.i2h(g) + self.h2h(h))


class LocationNetwork(tf.keras.layers.Layer):
  """Gaussian location policy: mu = fc(h), u ~ N(mu, std), l = tanh(u) (spec 2.5).

  The sample carries no gradient (no reparameterisation); its log-probability
  (pre-tanh, summed over the two coordinates) carries the REINFORCE gradient
  into `mu` and, through the undetached `h`, into the core and glimpse nets.
  """

  def __init__(self, input_dim=256, std=0.25, name='location_network', **kwargs):
    super().__init__(name=name, **kwargs)
    self.std = std
    self.fc = torch_dense(2, input_dim, 'fc')

  def call(self, h, noise):
    """Args: h `[B, input_dim]`; noise `[B, 2]` standard normal.
    Returns: (log_pi `[B]`, l `[B, 2]` in (-1, 1), mu `[B, 2]`)."""
    mu = self.fc(h)
    sample = tf.stop_gradient(mu + self.std * noise)
    log_pi = tf.reduce_sum(tfp.distributions.Normal(mu, self.std).log_prob(sample), axis=-1)
    return log_pi, tf.tanh(sample), mu


class ActionNetwork(tf.keras.layers.Layer):
  """Classifier logits from the core state (spec 2.6)."""

  def __init__(self, input_dim=256, num_classes=NUM_CLASSES, name='action_network', **kwargs):
    super().__init__(name=name, **kwargs)
    self.fc = torch_dense(num_classes, input_dim, 'fc')

  def call(self, h):
    """Args: h `[B, input_dim]`. Returns logits `[B, num_classes]`."""
    return self.fc(h)


class BaselineNetwork(tf.keras.layers.Layer):
  """Not original (BASELINE='network'): b_t = fc(stop_grad(h_t)), kevinzakka's baseline."""

  def __init__(self, input_dim=256, name='baseline_network', **kwargs):
    super().__init__(name=name, **kwargs)
    self.fc = torch_dense(1, input_dim, 'fc')

  def call(self, h):
    """Args: h `[B, input_dim]`. Returns `[B]`."""
    return self.fc(tf.stop_gradient(h))[:, 0]


class Unroll(NamedTuple):
  """What one T-glimpse pass produced (time-major)."""
  logits: tf.Tensor       # [B, 10] action logits after the last glimpse
  log_pi: tf.Tensor       # [T, B] log-probabilities of the T sampled locations
  baselines: tf.Tensor    # [T, B] per-step baselines (BASELINE='network'), else [0]
  locations: tf.Tensor    # [T, B, 2] the location each glimpse looked at (l_0 .. l_{T-1})


class Trace(NamedTuple):
  """Extra per-step outputs for visualisation."""
  glimpses: tf.Tensor     # [T, B, K, w, w]
  step_logits: tf.Tensor  # [T, B, 10]
  means: tf.Tensor        # [T, B, 2] location means


class Losses(NamedTuple):
  """Batch sums (spec 3.1): total = action + location + baseline."""
  total: tf.Tensor
  action: tf.Tensor
  location: tf.Tensor
  baseline: tf.Tensor
  reward: tf.Tensor       # number of correct final predictions


class RecurrentAttention(tf.keras.layers.Layer):
  """The classification RAM: glimpse -> core -> (location, action) for T steps.

  Args:
    glimpse_size, num_scales: the retina's `w` and `K`.
    num_glimpses: `T`.
    std: location policy std.
    baseline: 'scalar' (the original: one learned number, initialised to
      `baseline_init`) or 'network' (not original: `BaselineNetwork`).
    reduce: the retina's reduction ('bilinear' for classification).
  """

  def __init__(self, glimpse_size=8, num_scales=1, num_glimpses=7, std=0.25, glimpse_hidden=128,
               loc_hidden=128, glimpse_out=256, core_hidden=256, baseline='scalar',
               baseline_init=0.1, num_classes=NUM_CLASSES, reduce='bilinear', name='ram',
               **kwargs):
    super().__init__(name=name, **kwargs)
    if baseline not in ('scalar', 'network'):
      raise ValueError(f"unknown baseline {baseline!r}; choose 'scalar' or 'network'")
    self.num_glimpses = num_glimpses
    self.retina = Retina(glimpse_size, num_scales, reduce)
    self.glimpse_net = GlimpseNetwork(self.retina, glimpse_hidden, loc_hidden, glimpse_out)
    self.core_net = CoreNetwork(glimpse_out, core_hidden)
    self.location_net = LocationNetwork(core_hidden, std)
    self.action_net = ActionNetwork(core_hidden, num_classes)
    self.baseline_type = baseline
    if baseline == 'scalar':
      # add_weight, not tf.Variable: Keras 3 layers only track their own weights.
      self.baseline = self.add_weight(name='baseline', shape=(),
                                      initializer=tf.keras.initializers.Constant(baseline_init))
    else:
      self.baseline_net = BaselineNetwork(core_hidden)
    self.built = True  # every weight is created above

  def call(self, images, initial_locations, noise, trace=False):
    """T glimpses, unrolled (T is small and static).

    Args:
      images: `[B, S, S]` float32 in [-1, 1].
      initial_locations: `[B, 2]` l_0, uniform on [-1, 1) (spec 2.5).
      noise: `[T, B, 2]` standard normal draws for the T location samples.
      trace: also return a `Trace`.
    Returns:
      `Unroll`, or `(Unroll, Trace)` if `trace`.
    """
    batch = tf.shape(images)[0]
    h = tf.zeros([batch, self.core_net.hidden_dim], images.dtype)
    location = initial_locations
    log_pis, baselines, locations = [], [], []
    glimpses, step_logits, means = [], [], []
    for t in range(self.num_glimpses):
      locations.append(location)
      if trace:
        patches = self.retina(images, location, flatten=False)
        glimpses.append(patches)
        g = self.glimpse_net.embed(tf.reshape(patches, [batch, -1]), location)
      else:
        g = self.glimpse_net(images, location)
      h = self.core_net(g, h)
      # A location is sampled at every step, the last included (spec 2.8).
      log_pi, location, mu = self.location_net(h, noise[t])
      log_pis.append(log_pi)
      if self.baseline_type == 'network':
        baselines.append(self.baseline_net(h))
      if trace:
        step_logits.append(self.action_net(h))
        means.append(mu)
    logits = step_logits[-1] if trace else self.action_net(h)
    out = Unroll(logits, tf.stack(log_pis), tf.stack(baselines) if baselines else tf.zeros([0]),
                 tf.stack(locations))
    if trace:
      return out, Trace(tf.stack(glimpses), tf.stack(step_logits), tf.stack(means))
    return out

  def baseline_values(self, unroll):
    """`[T, B]` or scalar: what the REINFORCE advantage subtracts."""
    if self.baseline_type == 'network':
      return unroll.baselines
    return self.baseline


def discount_weights(num_steps, gamma):
  """`[T]` gamma^(T - t) for t = 1..T, with 0^0 = 1 (only the last step when gamma = 0)."""
  return tf.constant([1.0 if t == num_steps - 1 else gamma ** (num_steps - 1 - t)
                      for t in range(num_steps)], tf.float32)


def reinforce_loss(log_pi, rewards, baseline, gamma=1.0, drop_last=False):
  """-sum_t gamma^(T-t) sum_i (R_i - stop_grad(b)) log_pi_t,i (spec 3.1, 3.2).

  Args:
    log_pi: `[T, B]` log-probabilities of the sampled actions or locations.
    rewards: `[B]` terminal rewards (no gradient).
    baseline: scalar or `[T, B]`; only its value is used (stop_gradient).
    gamma: discount; the return at step t is gamma^(T-t) R.
    drop_last: leave out step T (the unused last location), keeping the
      other steps' discounts.
  Returns:
    scalar, summed over the batch and the steps.
  """
  advantage = tf.stop_gradient(rewards - baseline)  # [B] or [T, B]
  terms = discount_weights(log_pi.shape[0], gamma)[:, tf.newaxis] * advantage * log_pi
  if drop_last:
    terms = terms[:-1]
  return -tf.reduce_sum(terms)


def baseline_loss(baseline, rewards):
  """sum (b - R)^2 over the batch (and steps, for a per-step baseline)."""
  return tf.reduce_sum(tf.square(baseline - rewards) * tf.ones_like(rewards))


def classification_losses(model, unroll, labels, gamma=1.0, last_location_logpi=True):
  """The original's loss module (spec 3.1): every term a sum over the batch.

  Args:
    model: the `RecurrentAttention` (for its baseline).
    unroll: its `Unroll` for this batch.
    labels: `[B]` int.
    gamma: discount of the location REINFORCE term (1 in the original).
    last_location_logpi: include the unused last location's log-probability (faithful).
  Returns:
    `Losses`.
  """
  labels = tf.cast(labels, tf.int32)
  predictions = tf.argmax(unroll.logits, axis=-1, output_type=tf.int32)
  rewards = tf.cast(tf.equal(predictions, labels), tf.float32)  # [B], no gradient
  action = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, unroll.logits))
  baseline = model.baseline_values(unroll)
  location = reinforce_loss(unroll.log_pi, rewards, baseline, gamma,
                            drop_last=not last_location_logpi)
  if model.baseline_type == 'network' and not last_location_logpi:
    baseline = baseline[:-1]
  base = baseline_loss(baseline, rewards)
  return Losses(action + location + base, action, location, base, tf.reduce_sum(rewards))


def adjust_learning_rate(lr0, decay, epoch, floor=0.0):
  """The original's schedule: lr0 * decay**epoch, set at the start of epoch
  `epoch` (1-based, so the first epoch already uses lr0 * decay), never below `floor`."""
  return max(lr0 * decay ** epoch, floor)

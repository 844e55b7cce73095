"""The Recurrent Attention Model playing Catch (the original's `RAM_catch.py`).

Same glimpse network and location policy as `ram.py`, with a max-pooling
retina, an LSTM core and a stochastic action network (spec 2.2, 2.4, 2.6, 3.2).
`CatchRAM.play` runs a whole episode (reset, 23 glimpses, LSTM steps, location
and action samples, game steps) in TensorFlow ops, so an episode, its REINFORCE
loss and the update compile into one `tf.function`.

Shapes: `B` games, `G` board side, `T = G - 1` steps, `K` scales, `w` glimpse side.
"""
from typing import NamedTuple

import tensorflow as tf
import tensorflow_probability as tfp

from common.layers import TorchLSTMCell, torch_dense
from recurrent_attention import catch
from recurrent_attention.ram import (GlimpseNetwork, LocationNetwork, Retina, baseline_loss,
                                     reinforce_loss)


class StochasticActionNetwork(tf.keras.layers.Layer):
  """pi(a | h) = softmax(fc(h)); one action sampled per game (spec 2.6)."""

  def __init__(self, input_dim=256, num_actions=3, name='action_network', **kwargs):
    super().__init__(name=name, **kwargs)
    self.fc = torch_dense(num_actions, input_dim, 'fc')

  def call(self, h, seed):
    """Args: h `[B, input_dim]`; seed `[2]` int, a stateless sampling seed (cast to TFP's int32).
    Returns: (log_pi `[B]` of the sampled action, actions `[B]` int32 in {0, 1, 2},
    entropy `[B]` of the policy)."""
    policy = tfp.distributions.Categorical(logits=self.fc(h))
    # The sample carries no gradient (spec 8.1).
    actions = tf.stop_gradient(policy.sample(seed=tf.cast(seed, tf.int32)))
    return policy.log_prob(actions), tf.cast(actions, tf.int32), policy.entropy()


class Episode(NamedTuple):
  """One batch of episodes (time-major)."""
  rewards: tf.Tensor        # [B] 1 for a catch
  action_log_pi: tf.Tensor  # [T, B]
  location_log_pi: tf.Tensor  # [T, B]
  frames: tf.Tensor         # [T, B, G, G] observations (only when traced, else [0])
  locations: tf.Tensor      # [T, B, 2] the location each glimpse looked at
  actions: tf.Tensor        # [T, B] int32
  action_entropy: tf.Tensor  # [T, B] entropy of the action policy at each step


class CatchLosses(NamedTuple):
  """Batch sums (spec 3.2): total = action + location + baseline."""
  total: tf.Tensor
  action: tf.Tensor
  location: tf.Tensor
  baseline: tf.Tensor
  reward: tf.Tensor         # catches in the batch


class CatchRAM(tf.keras.layers.Layer):
  """Glimpse network + LSTM core + location and action policies for Catch.

  The baseline is one scalar; with `first_batch_baseline` it starts at 0 and is
  overwritten with the first training batch's mean reward (spec 2.7).
  """

  def __init__(self, grid_size=24, glimpse_size=6, num_scales=3, std=0.25, glimpse_hidden=128,
               loc_hidden=128, glimpse_out=256, core_hidden=256, baseline_init=0.0,
               first_batch_baseline=True, name='ram_catch', **kwargs):
    super().__init__(name=name, **kwargs)
    self.grid_size = grid_size
    self.retina = Retina(glimpse_size, num_scales, reduce='max')
    self.glimpse_net = GlimpseNetwork(self.retina, glimpse_hidden, loc_hidden, glimpse_out)
    self.core_net = TorchLSTMCell(glimpse_out, core_hidden, name='core_network')
    self.location_net = LocationNetwork(core_hidden, std)
    self.action_net = StochasticActionNetwork(core_hidden, len(catch.ACTION_MOVES))
    # add_weight, not tf.Variable: Keras 3 layers only track their own weights.
    self.baseline = self.add_weight(name='baseline', shape=(),
                                    initializer=tf.keras.initializers.Constant(baseline_init))
    # 0 until the first batch has set the baseline (only with first_batch_baseline).
    self.baseline_ready = self.add_weight(
        name='baseline_ready', shape=(), trainable=False,
        initializer=tf.keras.initializers.Constant(0.0 if first_batch_baseline else 1.0))
    self.built = True  # every weight is created above

  @property
  def episode_length(self):
    return catch.episode_length(self.grid_size)

  def play(self, rng, batch_size, trace=False):
    """Plays one episode in every game of the batch.

    Args:
      rng: `tf.random.Generator` for the games, l_0 and the policy samples.
      batch_size: `B` (Python int).
      trace: keep the observations in `Episode.frames`.
    Returns:
      `Episode`.
    """
    state = catch.reset(rng, batch_size, self.grid_size)
    hidden = tf.zeros([batch_size, self.core_net.hidden_dim])
    lstm_state = (hidden, hidden)
    location = rng.uniform([batch_size, 2], -1.0, 1.0)  # l_0, spec 2.5
    action_log_pis, location_log_pis, frames, locations, actions, entropies = [], [], [], [], [], []
    reward = tf.zeros([batch_size])
    for _ in range(self.episode_length):
      frame = catch.observe(state, self.grid_size)
      locations.append(location)
      if trace:
        frames.append(frame)
      g = self.glimpse_net(frame, location)
      lstm_state = self.core_net(g, lstm_state)
      h = lstm_state[0]
      location_log_pi, location, _ = self.location_net(h, rng.normal([batch_size, 2]))
      action_log_pi, action, entropy = self.action_net(h, rng.make_seeds(1)[:, 0] % (2 ** 31))
      state, reward, _ = catch.step(state, action, self.grid_size)
      action_log_pis.append(action_log_pi)
      location_log_pis.append(location_log_pi)
      actions.append(action)
      entropies.append(entropy)
    return Episode(reward, tf.stack(action_log_pis), tf.stack(location_log_pis),
                   tf.stack(frames) if trace else tf.zeros([0]), tf.stack(locations),
                   tf.stack(actions), tf.stack(entropies))

  def losses(self, episode, gamma=0.0, last_location_logpi=True, training=True,
             entropy_cost=0.0):
    """REINFORCE for actions and locations plus the baseline's squared error (spec 3.2).

    In training, the first call (with `first_batch_baseline`) first overwrites
    the baseline with the batch's mean reward, before the advantages use it.

    Args:
      episode: `Episode` of this batch.
      gamma: discount (0 in the original: only the last step counts).
      last_location_logpi: include the last, unused location's log-probability.
      training: allow the first-batch overwrite.
      entropy_cost: not original (0 = off): subtract this times the action
        policy's entropy, summed over steps and games, from the total, which
        keeps the policy from collapsing onto one move before it can see the ball.
    Returns:
      `CatchLosses` (`total` includes the entropy term; `action` does not).
    """
    rewards = episode.rewards
    if training:
      ready = self.baseline_ready > 0.5
      self.baseline.assign(tf.where(ready, self.baseline, tf.reduce_mean(rewards)))
      self.baseline_ready.assign(1.0)
    action = reinforce_loss(episode.action_log_pi, rewards, self.baseline, gamma)
    location = reinforce_loss(episode.location_log_pi, rewards, self.baseline, gamma,
                              drop_last=not last_location_logpi)
    base = baseline_loss(self.baseline, rewards)
    total = action + location + base
    if entropy_cost:
      total -= entropy_cost * tf.reduce_sum(episode.action_entropy)
    return CatchLosses(total, action, location, base, tf.reduce_sum(rewards))

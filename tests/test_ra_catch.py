"""Tests for recurrent_attention/catch.py (batched Catch, spec sections 4.5 and 8.11)."""
import numpy as np
import pytest
import tensorflow as tf

from recurrent_attention import catch
from recurrent_attention.catch import CatchState

G = catch.GRID_SIZE


# -- independent numpy reference of the rules ---------------------------------------------------

def ref_observe(y, x, q, g=G):
  boards = np.zeros((len(x), g, g), np.float32)
  for b in range(len(x)):
    boards[b, y, int(min(max(x[b], 0), g - 1))] = 1
    boards[b, g - 1, q[b]] = 1
    boards[b, g - 1, q[b] + 1] = 1
  return boards


def ref_step(y, x, v, q, actions, g=G):
  x, v, q = x.copy(), v.copy(), q.copy()
  y += 1
  reward = np.zeros(len(x), np.float32)
  for b in range(len(x)):
    x[b] = np.float32(x[b] + v[b])
    if x[b] < 0 or x[b] >= g:
      v[b] = -v[b]
    q[b] = min(max(q[b] + (-1, 0, 1)[actions[b]], 0), g - 2)
    col = int(min(max(x[b], 0), g - 1))
    if y == g - 1 and col in (q[b], q[b] + 1):
      reward[b] = 1
  return y, x, v, q, reward, y == g - 1


def make_state(y, x, v, q):
  return CatchState(tf.constant(y, tf.int32), tf.constant(x, tf.float32),
                    tf.constant(v, tf.float32), tf.constant(q, tf.int32))


def np_state(state):
  return (int(state.ball_row), state.ball_col.numpy(), state.velocity.numpy(),
          state.paddle.numpy())


def run_episode(state, actions):
  """Eager/graph-agnostic rollout: observations [T, B, G, G], rewards [T, B], dones [T]."""
  obs, rewards, dones = [], [], []
  for t in range(catch.episode_length()):
    obs.append(catch.observe(state))
    state, reward, done = catch.step(state, actions[t])
    rewards.append(reward)
    dones.append(done)
  return state, tf.stack(obs), tf.stack(rewards), tf.stack(dones)


# -- reference comparison -----------------------------------------------------------------------

@pytest.mark.parametrize('seed', [0, 1, 2])
def test_random_episodes_match_reference(seed):
  B = 16
  rng = tf.random.Generator.from_seed(seed)
  state = catch.reset(rng, B)
  actions = np.random.default_rng(seed).integers(0, 3, size=(catch.episode_length(), B))
  y, x, v, q = np_state(state)
  assert y == 0
  for t in range(catch.episode_length()):
    np.testing.assert_array_equal(catch.observe(state).numpy(), ref_observe(y, x, q))
    state, reward, done = catch.step(state, actions[t])
    y, x, v, q, ref_reward, ref_done = ref_step(y, x, v, q, actions[t])
    got = np_state(state)
    assert got[0] == y
    np.testing.assert_array_equal(got[1], x)
    np.testing.assert_array_equal(got[2], v)
    np.testing.assert_array_equal(got[3], q)
    np.testing.assert_array_equal(reward.numpy(), ref_reward)
    assert bool(done) == ref_done
  assert done and y == G - 1


# -- hand-made cases ----------------------------------------------------------------------------

def test_ball_falls_one_row_per_step():
  state = make_state(0, [5.0], [0.0], [10])
  for t in range(1, 6):
    state, _, _ = catch.step(state, [1])
    assert int(state.ball_row) == t
    obs = catch.observe(state).numpy()[0]
    assert obs[t, 5] == 1 and obs[:G - 1].sum() == 1


def test_bounce_flips_velocity_without_correcting_position():
  state = make_state(3, [0.5, 23.5], [-0.75, 0.75], [10, 10])
  state, _, _ = catch.step(state, [1, 1])
  np.testing.assert_allclose(state.ball_col.numpy(), [-0.25, 24.25])   # not corrected
  np.testing.assert_allclose(state.velocity.numpy(), [0.75, -0.75])    # flipped
  obs = catch.observe(state).numpy()
  assert obs[0, 4, 0] == 1 and obs[1, 4, G - 1] == 1                    # clamped edge column
  assert obs[0, 4].sum() == 1 and obs[1, 4].sum() == 1
  # The next step brings the ball back inside with no second flip.
  state, _, _ = catch.step(state, [1, 1])
  np.testing.assert_allclose(state.ball_col.numpy(), [0.5, 23.5])
  np.testing.assert_allclose(state.velocity.numpy(), [0.75, -0.75])


def test_bounce_at_exactly_grid_size():
  state = make_state(0, [23.0], [1.0], [0])
  state, _, _ = catch.step(state, [1])
  assert float(state.ball_col[0]) == 24.0 and float(state.velocity[0]) == -1.0
  assert catch.observe(state).numpy()[0, 1, G - 1] == 1


def test_paddle_moves_and_is_clamped():
  state = make_state(0, [0.0] * 5, [0.0] * 5, [5, 5, 5, 0, G - 2])
  state, _, _ = catch.step(state, [0, 1, 2, 0, 2])
  np.testing.assert_array_equal(state.paddle.numpy(), [4, 5, 6, 0, G - 2])
  obs = catch.observe(state).numpy()
  np.testing.assert_array_equal(np.nonzero(obs[0, G - 1])[0], [4, 5])
  np.testing.assert_array_equal(np.nonzero(obs[3, G - 1])[0], [0, 1])
  np.testing.assert_array_equal(np.nonzero(obs[4, G - 1])[0], [G - 2, G - 1])


def test_reward_on_either_paddle_cell():
  # One step before the end; the final paddle move counts.
  x = [7.0, 8.0, 9.0, 6.0, 8.9, -0.5, 23.5, 7.0]
  q = [7, 7, 7, 7, 7, 0, G - 2, 9]
  a = [1, 1, 1, 1, 1, 1, 1, 0]          # last game: paddle moves 9 -> 8, misses 7
  state = make_state(G - 2, x, [0.0] * len(x), q)
  state, reward, done = catch.step(state, a)
  assert bool(done)
  np.testing.assert_array_equal(reward.numpy(), [1, 1, 0, 0, 1, 1, 1, 0])
  state = make_state(G - 2, [7.0], [0.0], [8])
  _, reward, _ = catch.step(state, [0])   # 8 -> 7 catches
  assert float(reward[0]) == 1


def test_episode_length_and_done_only_at_last_step():
  assert catch.episode_length() == 23 and catch.episode_length(10) == 9
  rng = tf.random.Generator.from_seed(4)
  state = catch.reset(rng, 8)
  actions = np.ones((23, 8), np.int32)
  state, obs, rewards, dones = run_episode(state, actions)
  assert obs.shape == (23, 8, G, G)
  np.testing.assert_array_equal(dones.numpy(), [False] * 22 + [True])
  assert not np.any(rewards.numpy()[:-1])
  # The ball occupies rows 0..22 in the 23 observations.
  rows = np.argmax(obs.numpy()[:, :, :G - 1].sum(axis=3), axis=2)
  np.testing.assert_array_equal(rows, np.arange(23)[:, None] * np.ones((1, 8), int))


def test_reset_distribution():
  rng = tf.random.Generator.from_seed(5)
  state = catch.reset(rng, 4000)
  q, x, v = state.paddle.numpy(), state.ball_col.numpy(), state.velocity.numpy()
  assert int(state.ball_row) == 0
  assert state.paddle.dtype == tf.int32 and state.ball_col.dtype == tf.float32
  assert q.min() == 0 and q.max() == G - 2
  assert x.min() == 0 and x.max() == G - 1 and np.all(x == np.round(x))
  assert np.all(np.abs(v) <= 1) and v.min() < -0.95 and v.max() > 0.95
  # theta uniform on [45, 135) degrees: v = sqrt(2) cos(theta) is symmetric around 0.
  assert abs(np.mean(v)) < 0.05
  assert np.all(catch.observe(state).numpy().sum(axis=(1, 2)) == 3)


def test_same_seed_same_episode():
  actions = np.random.default_rng(0).integers(0, 3, size=(23, 6))
  outs = []
  for _ in range(2):
    state = catch.reset(tf.random.Generator.from_seed(11), 6)
    outs.append(run_episode(state, actions))
  for a, b in zip(tf.nest.flatten(outs[0]), tf.nest.flatten(outs[1])):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  # A different seed gives different games.
  a = catch.reset(tf.random.Generator.from_seed(11), 6)
  b = catch.reset(tf.random.Generator.from_seed(12), 6)
  assert not np.array_equal(a.velocity.numpy(), b.velocity.numpy())


def test_xla_episode_matches_eager():
  B = 8
  state = catch.reset(tf.random.Generator.from_seed(7), B)
  actions = tf.constant(np.random.default_rng(7).integers(0, 3, size=(23, B)), tf.int32)
  compiled = tf.function(run_episode, jit_compile=True)
  for a, b in zip(tf.nest.flatten(run_episode(state, actions)),
                  tf.nest.flatten(compiled(state, actions))):
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_reset_inside_xla():
  env = catch.Catch(batch_size=5)

  @tf.function(jit_compile=True)
  def episode(rng):
    state = env.reset(rng)
    total = tf.zeros([5])
    for _ in range(env.episode_length):
      state, reward, _ = env.step(state, tf.ones([5], tf.int32))
      total += reward
    return state, total

  state, total = episode(tf.random.Generator.from_seed(3))
  assert int(state.ball_row) == G - 1
  assert set(total.numpy().tolist()) <= {0.0, 1.0}


def test_catch_object_matches_functions():
  env = catch.Catch(batch_size=3, grid_size=8)
  assert env.num_actions == 3 and env.episode_length == 7
  s1 = env.reset(tf.random.Generator.from_seed(1))
  s2 = catch.reset(tf.random.Generator.from_seed(1), 3, 8)
  np.testing.assert_array_equal(env.observe(s1).numpy(), catch.observe(s2, 8).numpy())
  assert env.observe(s1).shape == (3, 8, 8)


def test_argument_validation():
  rng = tf.random.Generator.from_seed(0)
  with pytest.raises(ValueError, match='grid_size'):
    catch.reset(rng, 4, grid_size=2)
  with pytest.raises(ValueError, match='batch_size'):
    catch.reset(rng, 0)
  with pytest.raises(ValueError, match='batch_size'):
    catch.Catch(batch_size=0)
  with pytest.raises(ValueError, match='grid_size'):
    catch.episode_length(2)
  with pytest.raises(ValueError, match='rng'):
    catch.reset(np.random.default_rng(0), 4)
  state = catch.reset(rng, 2)
  with pytest.raises(ValueError, match='actions'):
    catch.step(state, [0, 3])
  with pytest.raises(ValueError, match='actions'):
    catch.step(state, [-1, 0])


def test_fixed_policy_catch_rates():
  rng = tf.random.Generator.from_seed(0)
  rates = {p: float(catch.fixed_policy_catch_rate(rng, p, 4000, 24)) for p in catch.FIXED_POLICIES}
  # Chance is about 2 paddle cells in 24 columns; always-left beats it (edge columns are
  # drawn for balls that left the board), which is the local optimum a policy can fall into.
  assert 0.06 < rates['random'] < 0.11 and 0.06 < rates['stay'] < 0.11
  assert rates['left'] > rates['random'] - 0.005
  with pytest.raises(ValueError, match='unknown policy'):
    catch.fixed_policy_catch_rate(rng, 'up', 8, 24)

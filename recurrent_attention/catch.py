"""Batched game "Catch" for the Recurrent Attention Model (spec section 4.5).

Everything is written in TensorFlow ops on a small immutable `CatchState`, so
a whole episode (reset, observations, steps) can run inside one `tf.function`,
also with `jit_compile=True`.

Rules, for a board of G rows x G columns (G = 24 by default; row 0 is the top):

* B games run in lock-step. The ball row is one shared integer, so every game
  starts and ends on the same step.
* Reset, per game: paddle left cell `q ~ U{0..G-2}` (the paddle covers columns
  `q` and `q+1` of the bottom row); ball column `x ~ U{0..G-1}` kept as a
  float; ball row `y = 0`; fall angle `theta ~ U[45, 135)` degrees; horizontal
  speed per step `v = cos(theta) / cos(45 deg)`, in [-1, 1].
* The ball is drawn at `(y, trunc(clamp(x, 0, G-1)))`.
* `step` moves the ball (`y += 1`, `x += v`), flips `v` when the new `x` is
  off the board (without correcting `x`), moves the paddle by -1/0/+1 clamped
  to [0, G-2], and ends the episode when `y == G-1`. The only reward is then 1
  for a catch (the drawn ball column is `q` or `q+1`), else 0.
* An episode is `G - 1` observations and actions and one terminal reward.

The state does not reset itself when an episode ends: the caller calls `reset`
again (the original resets every game at once, which is the same thing here
because all games end together).

Randomness comes only from the `tf.random.Generator` passed to `reset`, so runs
are seeded and the generator can be checkpointed. Note that TensorFlow's
stateful float sampling differs between XLA-compiled and ordinary execution,
so the same seed gives the same games only within one execution mode.
"""
import math
from typing import NamedTuple

import tensorflow as tf

GRID_SIZE = 24
ACTION_MOVES = (-1, 0, 1)
MIN_ANGLE_DEG = 45.0
MAX_ANGLE_DEG = 135.0


class CatchState(NamedTuple):
  """State of B lock-step games.

  Attributes:
    ball_row: int32 scalar, the shared ball row `y` (0 after reset).
    ball_col: float32 [B], ball column `x`; may sit outside [0, G) for a step
      after a bounce.
    velocity: float32 [B], horizontal ball speed per step `v`.
    paddle: int32 [B], left paddle cell `q` in [0, G-2].
  """
  ball_row: tf.Tensor
  ball_col: tf.Tensor
  velocity: tf.Tensor
  paddle: tf.Tensor


def _check_grid_size(grid_size):
  if isinstance(grid_size, bool) or not isinstance(grid_size, int) or grid_size < 3:
    raise ValueError(f'grid_size must be an int >= 3, got {grid_size!r}')


def _check_batch_size(batch_size):
  if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
    raise ValueError(f'batch_size must be an int >= 1, got {batch_size!r}')


def episode_length(grid_size=GRID_SIZE):
  """Number of observations (and actions) per episode: `grid_size - 1`."""
  _check_grid_size(grid_size)
  return grid_size - 1


def reset(rng, batch_size, grid_size=GRID_SIZE):
  """Starts B new games.

  Args:
    rng: `tf.random.Generator`, the only source of randomness.
    batch_size: number of games B, >= 1.
    grid_size: board side G, >= 3.

  Returns:
    A `CatchState` with the ball in row 0.
  """
  if not isinstance(rng, tf.random.Generator):
    raise ValueError(f'rng must be a tf.random.Generator, got {type(rng).__name__}')
  _check_batch_size(batch_size)
  _check_grid_size(grid_size)
  paddle = rng.uniform([batch_size], 0, grid_size - 1, dtype=tf.int32)
  ball_col = tf.cast(rng.uniform([batch_size], 0, grid_size, dtype=tf.int32), tf.float32)
  theta = rng.uniform([batch_size], MIN_ANGLE_DEG, MAX_ANGLE_DEG, dtype=tf.float32)
  velocity = tf.cos(theta * (math.pi / 180.0)) / math.cos(math.radians(MIN_ANGLE_DEG))
  # float32 rounding near 45 degrees can overshoot 1 by an ulp.
  velocity = tf.clip_by_value(velocity, -1.0, 1.0)
  return CatchState(ball_row=tf.constant(0, tf.int32), ball_col=ball_col,
                    velocity=velocity, paddle=paddle)


def ball_column(state, grid_size=GRID_SIZE):
  """Column the ball is drawn in, `trunc(clamp(x, 0, G-1))`.

  Args:
    state: `CatchState` with `ball_col` [B].
    grid_size: board side G.

  Returns:
    int32 [B].
  """
  # After the clamp x >= 0, so the cast's truncation is the spec's trunc.
  return tf.cast(tf.clip_by_value(state.ball_col, 0.0, float(grid_size - 1)), tf.int32)


def observe(state, grid_size=GRID_SIZE):
  """Draws the boards.

  Args:
    state: `CatchState` for B games.
    grid_size: board side G.

  Returns:
    float32 [B, G, G] with 1 at the ball and the two paddle cells, 0 elsewhere.
  """
  _check_grid_size(grid_size)
  rows = tf.one_hot(state.ball_row, grid_size)                        # [G]
  cols = tf.one_hot(ball_column(state, grid_size), grid_size)         # [B, G]
  ball = rows[None, :, None] * cols[:, None, :]                       # [B, G, G]
  paddle_cols = (tf.one_hot(state.paddle, grid_size)
                 + tf.one_hot(state.paddle + 1, grid_size))           # [B, G]
  bottom = tf.one_hot(grid_size - 1, grid_size)                       # [G]
  paddle = bottom[None, :, None] * paddle_cols[:, None, :]            # [B, G, G]
  # Maximum keeps values in {0, 1} if the ball reaches the paddle row.
  return tf.maximum(ball, paddle)


def _check_actions_eagerly(actions):
  if tf.executing_eagerly():
    bad = tf.logical_or(actions < 0, actions >= len(ACTION_MOVES))
    if bool(tf.reduce_any(bad)):
      raise ValueError(f'actions must be in {{0, 1, 2}}, got {actions.numpy().tolist()}')


def step(state, actions, grid_size=GRID_SIZE):
  """Advances all games by one step.

  Args:
    state: `CatchState` for B games.
    actions: int [B], indices into `ACTION_MOVES`: 0 moves the paddle left,
      1 keeps it, 2 moves it right. Out-of-range indices raise a ValueError
      in eager mode; inside a `tf.function` they are clipped to {0, 1, 2}
      (a check there would be dropped by XLA anyway).
    grid_size: board side G.

  Returns:
    (new_state, reward, done): reward is float32 [B], 1 for a catch on the
    last step and 0 otherwise; done is a bool scalar, true when the ball has
    reached the bottom row G-1.
  """
  _check_grid_size(grid_size)
  actions = tf.cast(actions, tf.int32)
  _check_actions_eagerly(actions)
  moves = tf.clip_by_value(actions, 0, len(ACTION_MOVES) - 1) - 1

  ball_row = state.ball_row + 1
  ball_col = state.ball_col + state.velocity
  # Bounce by flipping the speed only; x stays outside for this step.
  outside = tf.logical_or(ball_col < 0.0, ball_col >= float(grid_size))
  velocity = tf.where(outside, -state.velocity, state.velocity)
  paddle = tf.clip_by_value(state.paddle + moves, 0, grid_size - 2)
  new_state = CatchState(ball_row=ball_row, ball_col=ball_col,
                         velocity=velocity, paddle=paddle)

  done = tf.equal(ball_row, grid_size - 1)
  col = ball_column(new_state, grid_size)
  caught = tf.logical_or(tf.equal(col, paddle), tf.equal(col, paddle + 1))
  reward = tf.cast(tf.logical_and(done, caught), tf.float32)
  return new_state, reward, done


FIXED_POLICIES = ('random', 'left', 'stay', 'right')


def fixed_policy_catch_rate(rng, policy, batch_size, grid_size=GRID_SIZE):
  """Fraction of `batch_size` games a policy that ignores the board catches.

  The reference points for a learned policy: uniformly random moves, or
  always the same move. Parking the paddle at an edge ('left' or 'right')
  catches more balls than random play (about 9.7% against 8.6% on 24x24, over
  20,000 games), so a policy that learns only that sits in a local optimum.

  Args:
    rng: `tf.random.Generator` for the games (and the random moves).
    policy: one of `FIXED_POLICIES`.
    batch_size: games B.
    grid_size: board side G.

  Returns:
    float32 scalar in [0, 1].
  """
  if policy not in FIXED_POLICIES:
    raise ValueError(f'unknown policy {policy!r}; choose one of {", ".join(FIXED_POLICIES)}')
  state = reset(rng, batch_size, grid_size)
  reward = tf.zeros([batch_size])
  for _ in range(episode_length(grid_size)):
    if policy == 'random':
      actions = rng.uniform([batch_size], 0, len(ACTION_MOVES), dtype=tf.int32)
    else:
      actions = tf.fill([batch_size], FIXED_POLICIES.index(policy) - 1)
    state, reward, _ = step(state, actions, grid_size)
  return tf.reduce_mean(reward)


class Catch:
  """Catch environment object holding the board and batch sizes.

  Thin wrapper over the module functions; the state is passed explicitly so
  episodes stay traceable inside `tf.function`.

  Args:
    batch_size: number of lock-step games B, >= 1.
    grid_size: board side G, >= 3.
  """

  def __init__(self, batch_size=64, grid_size=GRID_SIZE):
    _check_batch_size(batch_size)
    _check_grid_size(grid_size)
    self.batch_size = batch_size
    self.grid_size = grid_size

  @property
  def num_actions(self):
    return len(ACTION_MOVES)

  @property
  def episode_length(self):
    return episode_length(self.grid_size)

  def reset(self, rng):
    """See `reset`; returns a new `CatchState`."""
    return reset(rng, self.batch_size, self.grid_size)

  def observe(self, state):
    """See `observe`; returns float32 [B, G, G]."""
    return observe(state, self.grid_size)

  def step(self, state, actions):
    """See `step`; returns (new_state, reward [B], done)."""
    return step(state, actions, self.grid_size)

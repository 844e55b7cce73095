"""Tests for ntm_dnc/core/env.py (copy and repeat-copy generators, spec section 4)
and the env-parameter checks in ntm_dnc/utils/factory.py."""
import numpy as np
import pytest

import ntm_dnc.constants
from common import config
from ntm_dnc.core.env import Batch, CopyEnv, RepeatCopyEnv
from ntm_dnc.utils import factory


def make_args(*flags):
  args = config.parse(ntm_dnc.constants, ['prog', *flags])
  factory.resolve(args)
  return args


def expected_draws(batch_size, min_words, max_words, len_word, repeats=None):
  """The original's random calls in order (spec 4), made here with numpy directly.

  Must be called right after the same np.random.seed as the env.
  """
  lengths = np.random.randint(min_words, max_words + 1, size=batch_size)
  reps = None
  if repeats is not None:
    reps = np.random.randint(repeats[0], repeats[1] + 1, size=batch_size)
  bits = [np.random.randint(2, size=(n, len_word)) for n in lengths]
  return lengths, reps, bits


# -- copy --------------------------------------------------------------------------------------

def check_copy_batch(batch, lengths, bits, L):
  T = 2 * int(lengths.max()) + 2
  assert batch.time == T
  for b, n in enumerate(lengths):
    x, y, m = batch.input[:, b], batch.target[:, b], batch.mask[:, b]
    ex, ey, em = np.zeros_like(x), np.zeros_like(y), np.zeros_like(m)
    ex[0, L] = 1                      # start flag
    ex[1:n + 1, :L] = bits[b]         # data bits
    ex[n + 1, L + 1] = 1              # end flag
    ey[n + 2:2 * n + 2] = bits[b]     # targets
    em[n + 2:2 * n + 2] = 1           # mask on exactly those rows
    np.testing.assert_array_equal(x, ex)
    np.testing.assert_array_equal(y, ey)
    np.testing.assert_array_equal(m, em)
    # Mask rows and target rows: exactly n rows, starting right after the end flag.
    assert int(m[:, 0].sum()) == n
    # Padding beyond the natural T is zero everywhere.
    assert not x[T:].any() and not y[T:].any() and not m[T:].any()


def test_copy_first_batch_after_seed_defaults():
  args = make_args('--config=1')
  env = CopyEnv(args)
  L, B = 8, 16
  assert (env.state_shape, env.action_dim, env.max_time) == (L + 2, L, 22)
  np.random.seed(1)
  batch = env.reset().state1
  assert isinstance(batch, Batch)
  assert batch.input.shape == (22, B, L + 2)
  assert batch.target.shape == (22, B, L)
  assert batch.mask.shape == (22, B, L)
  assert batch.input.dtype == batch.target.dtype == batch.mask.dtype == np.float32
  np.random.seed(1)
  lengths, _, bits = expected_draws(B, 5, 10, L)
  check_copy_batch(batch, lengths, bits, L)


def test_copy_data_stream_follows_original_call_order():
  """Several consecutive batches (reset, then steps) reproduce the numpy stream."""
  args = make_args('--config=1', '--batch_size=5', '--len_word=3', '--min_num_words=1',
                   '--max_num_words=6')
  env = CopyEnv(args)
  np.random.seed(1)
  batches = [env.reset().state1] + [env.step(0).state1 for _ in range(3)]
  np.random.seed(1)
  for batch in batches:
    lengths, _, bits = expected_draws(5, 1, 6, 3)
    assert batch.input.shape == (env.max_time, 5, 5)
    check_copy_batch(batch, lengths, bits, 3)
  # Natural lengths vary between batches but the padded shape does not.
  assert len({b.input.shape for b in batches}) == 1


def test_copy_reset_and_step_return_experience():
  env = CopyEnv(make_args('--config=1', '--batch_size=2'))
  exp = env.reset()
  assert exp.state1 is env.exp_state1 and exp.terminal1 is None
  exp = env.step(0)
  assert exp.action == 0 and exp.state1 is env.exp_state1


# -- repeat-copy ---------------------------------------------------------------------------------

def check_repeat_copy_batch(batch, lengths, reps, bits, L, norm):
  T = int(lengths.max()) * (int(reps.max()) + 1) + 3
  assert batch.time == T
  for b, (n, r) in enumerate(zip(lengths, reps)):
    x, y, m = batch.input[:, b], batch.target[:, b], batch.mask[:, b]
    ex, ey, em = np.zeros_like(x), np.zeros_like(y), np.zeros_like(m)
    ex[0, L] = 1
    ex[1:n + 1, :L] = bits[b]
    ex[n + 1, L + 1] = np.float32(r / norm)
    for k in range(r):
      ey[n + 2 + k * n:n + 2 + (k + 1) * n, :L] = bits[b]
    ey[n * (r + 1) + 2, L] = 1                      # end marker
    em[n + 2:n * (r + 1) + 3] = 1
    np.testing.assert_array_equal(x, ex)
    np.testing.assert_array_equal(y, ey)
    np.testing.assert_array_equal(m, em)
    assert int(m[:, 0].sum()) == n * r + 1
    assert np.all(m[m[:, 0] == 1] == 1)             # all L+1 channels on mask rows
    assert not x[T:].any() and not y[T:].any() and not m[T:].any()


def test_repeat_copy_first_batch_after_seed_defaults():
  args = make_args('--config=2')
  env = RepeatCopyEnv(args)
  L, B = 4, 16
  assert (env.state_shape, env.action_dim, env.max_time) == (L + 2, L + 1, 9)
  np.random.seed(1)
  batch = env.reset().state1
  assert batch.input.shape == (9, B, L + 2)
  assert batch.target.shape == (9, B, L + 1)
  assert batch.mask.shape == (9, B, L + 1)
  np.random.seed(1)
  lengths, reps, bits = expected_draws(B, 1, 2, L, repeats=(1, 2))
  check_repeat_copy_batch(batch, lengths, reps, bits, L, 10.0)


def test_repeat_copy_data_stream_and_flag_value():
  args = make_args('--config=2', '--batch_size=6', '--len_word=3', '--min_num_words=1',
                   '--max_num_words=4', '--min_repeats=1', '--max_repeats=3',
                   '--max_repeats_norm=5')
  env = RepeatCopyEnv(args)
  assert env.max_time == 4 * 4 + 3
  np.random.seed(1)
  batches = [env.reset().state1] + [env.step(0).state1 for _ in range(3)]
  np.random.seed(1)
  for batch in batches:
    lengths, reps, bits = expected_draws(6, 1, 4, 3, repeats=(1, 3))
    check_repeat_copy_batch(batch, lengths, reps, bits, 3, 5.0)
    # Flag channel holds r / norm on row n + 1.
    for b, (n, r) in enumerate(zip(lengths, reps)):
      assert batch.input[n + 1, b, 4] == pytest.approx(r / 5.0)


def test_repeat_copy_time_uses_independent_maxima():
  """T = max(n) * (max(r) + 1) + 3 even when no sample has both maxima."""
  args = make_args('--config=2', '--batch_size=2', '--min_num_words=1', '--max_num_words=3',
                   '--max_repeats=3')
  env = RepeatCopyEnv(args)
  for seed in range(200):
    np.random.seed(seed)
    lengths = np.random.randint(1, 4, size=2)
    reps = np.random.randint(1, 4, size=2)
    if lengths.argmax() != reps.argmax() and lengths[0] != lengths[1] and reps[0] != reps[1]:
      break
  else:
    pytest.skip('no suitable seed')
  np.random.seed(seed)
  batch = env.reset().state1
  assert batch.time == lengths.max() * (reps.max() + 1) + 3
  assert batch.time > max(n * (r + 1) + 3 for n, r in zip(lengths, reps))


def test_repeat_copy_visual_shows_repeat_count():
  env = RepeatCopyEnv(make_args('--config=2', '--batch_size=1', '--min_repeats=2'))
  np.random.seed(0)
  batch = env.reset().state1
  text = env.visual(batch)
  assert '2' in text.splitlines()[env.len_word + 2]  # the flag channel, un-normalised
  assert batch.input[:, 0, -1].max() == pytest.approx(0.2)  # the batch is not modified


# -- padding ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('cfg, env_class', [('1', CopyEnv), ('2', RepeatCopyEnv)])
def test_default_pads_to_max_time(cfg, env_class):
  env = env_class(make_args(f'--config={cfg}', '--batch_size=4'))
  np.random.seed(3)
  for _ in range(5):
    batch = env.step(0).state1
    assert batch.input.shape[0] == batch.target.shape[0] == batch.mask.shape[0] == env.max_time
    assert batch.time <= env.max_time
  assert env.padded_time(1) == env.max_time


@pytest.mark.parametrize('bucket', [1, 4, 5])
def test_time_bucket_pads_to_multiple(bucket):
  args = make_args('--config=1', '--batch_size=2', '--min_num_words=1', '--max_num_words=10',
                   f'--time_bucket={bucket}')
  env = CopyEnv(args)
  for time in range(4, 23):
    padded = env.padded_time(time)
    assert padded % bucket == 0 and time <= padded < time + bucket
  np.random.seed(5)
  seen = set()
  for _ in range(10):
    batch = env.step(0).state1
    T_pad = batch.input.shape[0]
    seen.add(batch.time)
    assert T_pad % bucket == 0 and batch.time <= T_pad < batch.time + bucket
    assert batch.target.shape[0] == batch.mask.shape[0] == T_pad
    assert not batch.input[batch.time:].any() and not batch.mask[batch.time:].any()
  assert len(seen) > 1


def test_time_bucket_repeat_copy():
  args = make_args('--config=2', '--batch_size=3', '--time_bucket=4')
  env = RepeatCopyEnv(args)
  np.random.seed(2)
  batch = env.reset().state1
  assert batch.input.shape[0] == -(-batch.time // 4) * 4


# -- invalid parameters ------------------------------------------------------------------------------

def _raw_params(**overrides):
  args = make_args('--config=2', '--batch_size=2')
  for name, value in overrides.items():
    setattr(args, name, value)
  return args


@pytest.mark.parametrize('env_class', [CopyEnv, RepeatCopyEnv])
@pytest.mark.parametrize('low, high', [(5, 3), (0, 3), (0, 0)])
def test_env_rejects_bad_word_counts(env_class, low, high):
  with pytest.raises(ValueError, match='min_num_words') as info:
    env_class(_raw_params(min_num_words=low, max_num_words=high))
  assert 'max_num_words' in str(info.value)


@pytest.mark.parametrize('low, high', [(3, 2), (0, 2)])
def test_repeat_copy_rejects_bad_repeats(low, high):
  with pytest.raises(ValueError, match='min_repeats') as info:
    RepeatCopyEnv(_raw_params(min_repeats=low, max_repeats=high))
  assert 'max_repeats' in str(info.value)


@pytest.mark.parametrize('flags, names', [
    (('--config=1', '--min_num_words=7', '--max_num_words=5'), ('min_num_words', 'max_num_words')),
    (('--config=1', '--min_num_words=12'), ('min_num_words', 'max_num_words')),  # default max 10
    (('--config=2', '--min_repeats=3', '--max_repeats=2'), ('min_repeats', 'max_repeats')),
])
def test_parse_rejects_bad_ranges(flags, names):
  with pytest.raises(config.ConfigError) as info:  # after the env's defaults are filled in
    config.parse(ntm_dnc.constants, ['prog', *flags])
  for name in names:
    assert name in str(info.value)


def test_parse_rejects_non_positive_repeats():
  with pytest.raises(ValueError, match='min_repeats'):
    config.parse(ntm_dnc.constants, ['prog', '--config=2', '--min_repeats=0'])


def test_resolve_fills_env_defaults_and_lowercase():
  args = make_args('--config=2')
  assert (args.len_word, args.min_num_words, args.max_num_words) == (4, 1, 2)
  assert (args.min_repeats, args.max_repeats, args.max_repeats_norm) == (1, 2, 10.0)
  args = make_args('--config=1', '--len_word=5')
  assert (args.len_word, args.min_num_words, args.max_num_words) == (5, 5, 10)
  assert args.batch_size == args.BATCH_SIZE == 16


def test_own_random_state_gives_the_global_stream():
  args = make_args('--config=1', '--batch_size=3')
  np.random.seed(3)
  expected = [CopyEnv(args).step().state1 for _ in range(2)]
  np.random.seed(99)  # the env's own RandomState does not read the global one
  env = CopyEnv(args, rng=np.random.RandomState(3))
  for batch in expected:
    got = env.step().state1
    np.testing.assert_array_equal(got.input, batch.input)
    assert got.time == batch.time

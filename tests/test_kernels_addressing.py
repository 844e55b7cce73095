"""Tests for common/kernels/addressing.py (spec ntm_dnc.md 2.4, 2.5, 4.4, 8).

Checks, per kernel: the hand-computed reference numbers of spec 4.4, an
independent loop-based numpy reference on random batched multi-head inputs,
invariants (simplex outputs, shift direction, uniform first content weighting),
float64 numeric-vs-analytic Jacobians, XLA == eager, and an unknown batch size.
"""
import numpy as np
import pytest
import tensorflow as tf

from common.kernels import addressing
from kernel_testing import assert_close, f32, max_jacobian_error, simplex

B, H, N, W = 3, 2, 7, 5
EPS = 1e-6


# --------------------------------------------------------------------------- numpy references

def np_cosine(keys, memory, eps=EPS):
  keys, memory = np.asarray(keys, np.float64), np.asarray(memory, np.float64)
  batch, heads, _ = keys.shape
  slots = memory.shape[1]
  out = np.zeros((batch, heads, slots))
  for b in range(batch):
    for j in range(heads):
      k = keys[b, j]
      for i in range(slots):
        m = memory[b, i]
        out[b, j, i] = np.dot(k, m) / (np.sqrt((np.dot(k, k) + eps) * (np.dot(m, m) + eps)) + eps)
  return out


def np_softmax(x):
  e = np.exp(x - np.max(x))
  return e / e.sum()


def np_content(keys, strengths, memory, eps=EPS):
  sim = np_cosine(keys, memory, eps)
  out = np.zeros_like(sim)
  for b in range(sim.shape[0]):
    for j in range(sim.shape[1]):
      out[b, j] = np_softmax(float(strengths[b, j, 0]) * sim[b, j])
  return out


def np_interpolate(content, previous, gate):
  out = np.zeros(np.shape(content))
  for b in range(out.shape[0]):
    for j in range(out.shape[1]):
      g = float(gate[b, j, 0])
      out[b, j] = g * np.asarray(content[b, j], np.float64) + (1 - g) * np.asarray(previous[b, j], np.float64)
  return out


def np_shift(weights, shift):
  weights = np.asarray(weights, np.float64)
  out = np.zeros_like(weights)
  slots = weights.shape[-1]
  for b in range(weights.shape[0]):
    for j in range(weights.shape[1]):
      s0, s1, s2 = (float(v) for v in shift[b, j])
      for i in range(slots):
        out[b, j, i] = (s0 * weights[b, j, (i - 1) % slots] + s1 * weights[b, j, i]
                        + s2 * weights[b, j, (i + 1) % slots])
  return out


def np_sharpen(weights, gamma, eps=0.0):
  weights = np.asarray(weights, np.float64)
  out = np.zeros_like(weights)
  for b in range(weights.shape[0]):
    for j in range(weights.shape[1]):
      powered = weights[b, j] ** float(gamma[b, j, 0])
      out[b, j] = powered / (powered.sum() + eps)
  return out


def np_location_focus(content, previous, gate, shift, gamma):
  return np_sharpen(np_shift(np_interpolate(content, previous, gate), shift), gamma)


# --------------------------------------------------------------------------- random inputs

def make_inputs(rng, batch=B):
  return dict(
      keys=rng.normal(size=(batch, H, W)),
      memory=rng.normal(size=(batch, N, W)),
      strengths=rng.uniform(0.5, 5.0, size=(batch, H, 1)),
      content=simplex(rng, (batch, H, N)),
      previous=simplex(rng, (batch, H, N)),
      gate=rng.uniform(0.05, 0.95, size=(batch, H, 1)),
      shift=simplex(rng, (batch, H, 3)),
      gamma=rng.uniform(1.0, 4.0, size=(batch, H, 1)),
  )


# --------------------------------------------------------------------------- spec 4.4 reference numbers

@pytest.mark.parametrize("shift, expected", [
    ([1.0, 0.0, 0.0], [0.4, 0.1, 0.2, 0.3]),
    ([0.0, 0.0, 1.0], [0.2, 0.3, 0.4, 0.1]),
    ([0.2, 0.5, 0.3], [0.19, 0.21, 0.31, 0.29]),
])
def test_circular_shift_reference_numbers(shift, expected):
  weights = f32([[[0.1, 0.2, 0.3, 0.4]]])
  result = addressing.circular_shift(weights, f32([[shift]]))
  assert result.shape == (1, 1, 4)
  assert_close(result[0, 0], expected, rtol=1e-6, atol=1e-7)


def test_sharpen_reference_numbers():
  result = addressing.sharpen(f32([[[0.1, 0.2, 0.3, 0.4]]]), f32([[[2.0]]]))
  assert_close(result[0, 0], [0.033333, 0.133333, 0.3, 0.533333], rtol=1e-5, atol=1e-6)


def test_cosine_similarity_reference_numbers():
  keys = f32([[[1.0, 0.0, 1.0]]])
  memory = f32([[[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1e-6, 1e-6, 1e-6]]])
  result = addressing.cosine_similarity(keys, memory)
  assert result.shape == (1, 1, 3)
  assert_close(result[0, 0], [0.999999, 0.0, 0.0014132], rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- numpy references, random batched

def test_cosine_similarity_matches_numpy():
  x = make_inputs(np.random.default_rng(1))
  result = addressing.cosine_similarity(f32(x["keys"]), f32(x["memory"]))
  assert result.shape == (B, H, N)
  assert_close(result, np_cosine(np.float32(x["keys"]), np.float32(x["memory"])))


def test_cosine_similarity_custom_epsilon_matches_numpy():
  x = make_inputs(np.random.default_rng(2))
  keys, memory = 1e-2 * x["keys"], 1e-2 * x["memory"]  # small norms make epsilon matter
  result = addressing.cosine_similarity(f32(keys), f32(memory), epsilon=1e-3)
  assert_close(result, np_cosine(np.float32(keys), np.float32(memory), eps=1e-3))


def test_content_weights_matches_numpy():
  x = make_inputs(np.random.default_rng(3))
  result = addressing.content_weights(f32(x["keys"]), f32(x["strengths"]), f32(x["memory"]))
  assert result.shape == (B, H, N)
  expected = np_content(np.float32(x["keys"]), np.float32(x["strengths"]), np.float32(x["memory"]))
  assert_close(result, expected)


def test_interpolate_matches_numpy():
  x = make_inputs(np.random.default_rng(4))
  result = addressing.interpolate(f32(x["content"]), f32(x["previous"]), f32(x["gate"]))
  assert result.shape == (B, H, N)
  assert_close(result, np_interpolate(np.float32(x["content"]), np.float32(x["previous"]),
                                      np.float32(x["gate"])))


def test_circular_shift_matches_numpy():
  x = make_inputs(np.random.default_rng(5))
  result = addressing.circular_shift(f32(x["content"]), f32(x["shift"]))
  assert result.shape == (B, H, N)
  assert_close(result, np_shift(np.float32(x["content"]), np.float32(x["shift"])))


def test_sharpen_matches_numpy():
  x = make_inputs(np.random.default_rng(6))
  result = addressing.sharpen(f32(x["content"]), f32(x["gamma"]))
  assert result.shape == (B, H, N)
  assert_close(result, np_sharpen(np.float32(x["content"]), np.float32(x["gamma"])))


def test_sharpen_epsilon_matches_numpy():
  x = make_inputs(np.random.default_rng(7))
  result = addressing.sharpen(f32(x["content"]), f32(x["gamma"]), epsilon=0.5)
  assert_close(result, np_sharpen(np.float32(x["content"]), np.float32(x["gamma"]), eps=0.5))


def test_ntm_location_focus_matches_numpy():
  x = make_inputs(np.random.default_rng(8))
  args = [x[k] for k in ("content", "previous", "gate", "shift", "gamma")]
  result = addressing.ntm_location_focus(*[f32(a) for a in args])
  assert result.shape == (B, H, N)
  assert_close(result, np_location_focus(*[np.float32(a) for a in args]))


# --------------------------------------------------------------------------- properties

def test_content_weights_on_simplex():
  rng = np.random.default_rng(9)
  x = make_inputs(rng)
  strengths = rng.uniform(0.0, 50.0, size=(B, H, 1))
  result = addressing.content_weights(f32(x["keys"]), f32(strengths), f32(x["memory"])).numpy()
  assert np.all(result >= 0)
  assert_close(result.sum(axis=-1), np.ones((B, H)), rtol=0, atol=1e-6)


def test_sharpened_weights_on_simplex():
  rng = np.random.default_rng(10)
  x = make_inputs(rng)
  gamma = rng.uniform(1.0, 10.0, size=(B, H, 1))
  result = addressing.ntm_location_focus(
      *[f32(x[k]) for k in ("content", "previous", "gate", "shift")], f32(gamma)).numpy()
  assert np.all(result >= 0)
  assert_close(result.sum(axis=-1), np.ones((B, H)), rtol=0, atol=1e-6)


@pytest.mark.parametrize("slots", [7, 16])
def test_first_content_weighting_is_exactly_uniform(slots):
  rng = np.random.default_rng(11)
  keys = np.tanh(rng.normal(size=(B, H, W)))
  memory = np.full((B, slots, W), 1e-6)  # the initial memory of spec 2.7
  strengths = rng.uniform(0.1, 10.0, size=(B, H, 1))
  result = addressing.content_weights(f32(keys), f32(strengths), f32(memory)).numpy()
  assert np.all(result == result[..., :1])  # bit-identical entries
  assert_close(result, np.full((B, H, slots), 1.0 / slots), rtol=1e-7, atol=0)


@pytest.mark.parametrize("slot", range(N))
def test_shift_direction(slot):
  one_hot = np.zeros((1, 1, N))
  one_hot[0, 0, slot] = 1.0
  up = addressing.circular_shift(f32(one_hot), f32([[[1.0, 0.0, 0.0]]])).numpy()[0, 0]
  down = addressing.circular_shift(f32(one_hot), f32([[[0.0, 0.0, 1.0]]])).numpy()[0, 0]
  stay = addressing.circular_shift(f32(one_hot), f32([[[0.0, 1.0, 0.0]]])).numpy()[0, 0]
  np.testing.assert_array_equal(up, np.eye(N)[(slot + 1) % N])
  np.testing.assert_array_equal(down, np.eye(N)[(slot - 1) % N])
  np.testing.assert_array_equal(stay, np.eye(N)[slot])


def test_circular_shift_preserves_mass():
  x = make_inputs(np.random.default_rng(12))
  result = addressing.circular_shift(f32(x["content"]), f32(x["shift"])).numpy()
  assert_close(result.sum(axis=-1), np.ones((B, H)), rtol=0, atol=1e-6)


def test_interpolate_gate_extremes():
  x = make_inputs(np.random.default_rng(13))
  content, previous = f32(x["content"]), f32(x["previous"])
  ones, zeros = tf.ones((B, H, 1)), tf.zeros((B, H, 1))
  np.testing.assert_array_equal(addressing.interpolate(content, previous, ones), content)
  np.testing.assert_array_equal(addressing.interpolate(content, previous, zeros), previous)


def test_cosine_similarity_is_scale_invariant_and_bounded():
  x = make_inputs(np.random.default_rng(14))
  base = addressing.cosine_similarity(f32(x["keys"]), f32(x["memory"])).numpy()
  scaled = addressing.cosine_similarity(f32(3.0 * x["keys"]), f32(0.5 * x["memory"])).numpy()
  assert_close(base, scaled, rtol=1e-4, atol=1e-5)
  assert np.all(np.abs(base) <= 1.0)


def test_cosine_gradient_finite_at_zero():
  """Pitfall 8.4: no tf.norm, so zero keys / zero memory give finite gradients."""
  keys = tf.zeros((1, H, W))
  memory = tf.zeros((1, N, W))
  with tf.GradientTape() as tape:
    tape.watch([keys, memory])
    out = addressing.content_weights(keys, tf.ones((1, H, 1)), memory)
  grads = tape.gradient(out, [keys, memory])
  for g in grads:
    assert np.all(np.isfinite(g.numpy()))


def test_sharpen_epsilon_avoids_nan_on_underflow():
  tiny = np.full((1, 1, N), 1e-30)
  gamma = f32([[[20.0]]])  # (1e-30)^20 underflows to 0 in float32
  faithful = addressing.sharpen(f32(tiny), gamma).numpy()
  assert np.all(np.isnan(faithful))  # documented: no epsilon in faithful mode
  stable = addressing.sharpen(f32(tiny), gamma, epsilon=1e-16).numpy()
  assert np.all(np.isfinite(stable))


@pytest.mark.parametrize("gamma", [1.0, 2.5])
def test_sharpen_gradient_finite_with_zero_weights(gamma):
  """Pitfall 8.3: pow's exponent gradient must not form 0 * log(0) = NaN."""
  weights = f32([[[0.0, 0.0, 0.5, 0.3, 0.2]]])
  gamma = f32([[[gamma]]])
  with tf.GradientTape() as tape:
    tape.watch([weights, gamma])
    out = addressing.sharpen(weights, gamma)
    loss = tf.reduce_sum(out * tf.range(5, dtype=tf.float32))
  for g in tape.gradient(loss, [weights, gamma]):
    assert np.all(np.isfinite(g.numpy()))


# --------------------------------------------------------------------------- float64 gradient checks

GRAD_TOL = 1e-5


def small_inputs(seed):
  rng = np.random.default_rng(seed)
  return make_inputs(rng, batch=2)


def test_cosine_similarity_gradient():
  x = small_inputs(20)
  err = max_jacobian_error(addressing.cosine_similarity, [x["keys"], x["memory"]])
  assert err < GRAD_TOL


def test_content_weights_gradient():
  x = small_inputs(21)
  err = max_jacobian_error(addressing.content_weights, [x["keys"], x["strengths"], x["memory"]])
  assert err < GRAD_TOL


def test_interpolate_gradient():
  x = small_inputs(22)
  err = max_jacobian_error(addressing.interpolate, [x["content"], x["previous"], x["gate"]])
  assert err < GRAD_TOL


def test_circular_shift_gradient():
  x = small_inputs(23)
  err = max_jacobian_error(addressing.circular_shift, [x["content"], x["shift"]])
  assert err < GRAD_TOL


def test_sharpen_gradient():
  x = small_inputs(24)
  err = max_jacobian_error(addressing.sharpen, [x["content"], x["gamma"]])
  assert err < GRAD_TOL


def test_ntm_location_focus_gradient():
  x = small_inputs(25)
  args = [x[k] for k in ("content", "previous", "gate", "shift", "gamma")]
  err = max_jacobian_error(addressing.ntm_location_focus, args)
  assert err < GRAD_TOL


def test_kernels_keep_float64():
  x = small_inputs(26)
  f64 = lambda a: tf.constant(np.asarray(a, np.float64))
  out = addressing.ntm_location_focus(*[f64(x[k]) for k in ("content", "previous", "gate", "shift", "gamma")])
  assert out.dtype == tf.float64
  out = addressing.content_weights(f64(x["keys"]), f64(x["strengths"]), f64(x["memory"]))
  assert out.dtype == tf.float64


# --------------------------------------------------------------------------- XLA and unknown batch

CASES = {
    "cosine_similarity": (addressing.cosine_similarity, ("keys", "memory")),
    "content_weights": (addressing.content_weights, ("keys", "strengths", "memory")),
    "interpolate": (addressing.interpolate, ("content", "previous", "gate")),
    "circular_shift": (addressing.circular_shift, ("content", "shift")),
    "sharpen": (addressing.sharpen, ("content", "gamma")),
    "ntm_location_focus": (addressing.ntm_location_focus,
                           ("content", "previous", "gate", "shift", "gamma")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_xla_matches_eager(name):
  fn, keys = CASES[name]
  x = make_inputs(np.random.default_rng(30))
  args = [f32(x[k]) for k in keys]
  eager = fn(*args)
  compiled = tf.function(fn, jit_compile=True)(*args)
  assert compiled.shape == eager.shape and compiled.dtype == eager.dtype
  assert_close(compiled, eager, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_unknown_batch_dimension(name):
  fn, keys = CASES[name]
  x3 = make_inputs(np.random.default_rng(31), batch=3)
  x1 = make_inputs(np.random.default_rng(32), batch=1)
  signature = [tf.TensorSpec([None] + list(np.shape(x3[k]))[1:], tf.float32) for k in keys]
  traced = tf.function(fn, input_signature=signature)
  for x in (x3, x1):
    args = [f32(x[k]) for k in keys]
    assert_close(traced(*args), fn(*args))
  assert traced.experimental_get_tracing_count() == 1

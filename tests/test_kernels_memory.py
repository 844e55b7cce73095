"""Tests for common/kernels/memory.py (spec ntm_dnc.md 2.6, 3.3 (3d)/(6), 8.10).

Multi-head write: erase is a product over write heads, add a sum over them.
"""
import numpy as np
import pytest
import tensorflow as tf

from common.kernels import memory
from kernel_testing import assert_close, f32, max_jacobian_error, simplex, sub_simplex

B, H, R, N, W = 3, 2, 3, 7, 5


def make_inputs(rng, batch=B, heads=H):
  return dict(
      memory=rng.normal(size=(batch, N, W)),
      write_weights=sub_simplex(rng, (batch, heads, N)),
      erase=rng.uniform(0.0, 1.0, size=(batch, heads, W)),
      add=np.tanh(rng.normal(size=(batch, heads, W))),
      read_weights=simplex(rng, (batch, R, N)),
      values=rng.uniform(0.1, 1.5, size=(batch, heads, N, W)),
  )


# --------------------------------------------------------------------------- numpy references

def np_product_over_heads(values):
  values = np.asarray(values, np.float64)
  out = np.ones((values.shape[0],) + values.shape[2:])
  for j in range(values.shape[1]):
    out = out * values[:, j]
  return out


def np_write(mem, weights, erase, add):
  mem, weights = np.asarray(mem, np.float64), np.asarray(weights, np.float64)
  erase, add = np.asarray(erase, np.float64), np.asarray(add, np.float64)
  batch, slots, width = mem.shape
  heads = weights.shape[1]
  out = np.zeros_like(mem)
  for b in range(batch):
    for i in range(slots):
      for k in range(width):
        keep = 1.0
        added = 0.0
        for j in range(heads):
          keep *= 1.0 - weights[b, j, i] * erase[b, j, k]
          added += weights[b, j, i] * add[b, j, k]
        out[b, i, k] = mem[b, i, k] * keep + added
  return out


def np_read(mem, weights):
  mem, weights = np.asarray(mem, np.float64), np.asarray(weights, np.float64)
  batch, reads, slots = weights.shape
  out = np.zeros((batch, reads, mem.shape[2]))
  for b in range(batch):
    for r in range(reads):
      for i in range(slots):
        out[b, r] += weights[b, r, i] * mem[b, i]
  return out


# --------------------------------------------------------------------------- numpy comparisons

@pytest.mark.parametrize("heads", [1, 2, 3])
def test_product_over_heads_matches_numpy(heads):
  x = make_inputs(np.random.default_rng(heads), heads=heads)
  result = memory.product_over_heads(f32(x["values"]))
  assert result.shape == (B, N, W)
  assert_close(result, np_product_over_heads(np.float32(x["values"])))
  rank3 = memory.product_over_heads(f32(x["values"][..., 0]))
  assert rank3.shape == (B, N)
  assert_close(rank3, np_product_over_heads(np.float32(x["values"][..., 0])))


@pytest.mark.parametrize("heads", [1, 2, 3])
def test_write_matches_numpy(heads):
  x = make_inputs(np.random.default_rng(10 + heads), heads=heads)
  args = [x[k] for k in ("memory", "write_weights", "erase", "add")]
  result = memory.write(*[f32(a) for a in args])
  assert result.shape == (B, N, W)
  assert_close(result, np_write(*[np.float32(a) for a in args]))


def test_write_erase_is_product_and_add_is_sum_over_heads():
  """Two heads on the same slot: erase multiplies, add accumulates."""
  mem = np.full((1, 2, 1), 10.0)
  weights = np.array([[[1.0, 0.0], [0.5, 0.0]]])  # both heads on slot 0
  erase = np.array([[[0.5], [0.5]]])
  add = np.array([[[1.0], [2.0]]])
  result = memory.write(f32(mem), f32(weights), f32(erase), f32(add)).numpy()
  # slot 0: 10 * (1 - 0.5) * (1 - 0.25) + 1 * 1 + 0.5 * 2 = 3.75 + 2 = 5.75
  assert_close(result[0, :, 0], [5.75, 10.0], rtol=1e-7, atol=0)


def test_read_matches_numpy():
  x = make_inputs(np.random.default_rng(20))
  result = memory.read(f32(x["memory"]), f32(x["read_weights"]))
  assert result.shape == (B, R, W)
  assert_close(result, np_read(np.float32(x["memory"]), np.float32(x["read_weights"])))


# --------------------------------------------------------------------------- properties

@pytest.mark.parametrize("slot", [0, 3, N - 1])
def test_full_erase_one_hot_write_replaces_row(slot):
  rng = np.random.default_rng(30 + slot)
  mem = rng.normal(size=(1, N, W))
  weights = np.zeros((1, 1, N))
  weights[0, 0, slot] = 1.0
  add = rng.normal(size=(1, 1, W))
  result = memory.write(f32(mem), f32(weights), f32(np.ones((1, 1, W))), f32(add)).numpy()
  expected = np.float32(mem).copy()
  expected[0, slot] = np.float32(add[0, 0])
  np.testing.assert_array_equal(result, expected)


def test_zero_write_weights_leave_memory_unchanged():
  x = make_inputs(np.random.default_rng(40))
  mem = f32(x["memory"])
  result = memory.write(mem, tf.zeros((B, H, N)), f32(x["erase"]), f32(x["add"]))
  np.testing.assert_array_equal(result, mem)


@pytest.mark.parametrize("slot", [0, 4])
def test_one_hot_read_returns_row(slot):
  x = make_inputs(np.random.default_rng(50))
  weights = np.zeros((B, R, N))
  weights[:, :, slot] = 1.0
  result = memory.read(f32(x["memory"]), f32(weights)).numpy()
  for r in range(R):
    np.testing.assert_array_equal(result[:, r], np.float32(x["memory"])[:, slot])


# --------------------------------------------------------------------------- float64 gradient checks

GRAD_TOL = 1e-5


def test_product_over_heads_gradient():
  x = make_inputs(np.random.default_rng(60), batch=2, heads=3)
  assert max_jacobian_error(memory.product_over_heads, [x["values"][..., :3]]) < GRAD_TOL


def test_write_gradient():
  x = make_inputs(np.random.default_rng(61), batch=2)
  args = [x[k] for k in ("memory", "write_weights", "erase", "add")]
  assert max_jacobian_error(memory.write, args) < GRAD_TOL


def test_read_gradient():
  x = make_inputs(np.random.default_rng(62), batch=2)
  assert max_jacobian_error(memory.read, [x["memory"], x["read_weights"]]) < GRAD_TOL


# --------------------------------------------------------------------------- XLA and unknown batch

CASES = {
    "product_over_heads": (memory.product_over_heads, ("values",)),
    "write": (memory.write, ("memory", "write_weights", "erase", "add")),
    "read": (memory.read, ("memory", "read_weights")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_xla_matches_eager(name):
  fn, keys = CASES[name]
  x = make_inputs(np.random.default_rng(70))
  args = [f32(x[k]) for k in keys]
  eager = fn(*args)
  compiled = tf.function(fn, jit_compile=True)(*args)
  assert compiled.shape == eager.shape and compiled.dtype == eager.dtype
  assert_close(compiled, eager, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_unknown_batch_dimension(name):
  fn, keys = CASES[name]
  x3 = make_inputs(np.random.default_rng(71), batch=3)
  x1 = make_inputs(np.random.default_rng(72), batch=1)
  signature = [tf.TensorSpec([None] + list(np.shape(x3[k]))[1:], tf.float32) for k in keys]
  traced = tf.function(fn, input_signature=signature)
  for x in (x3, x1):
    args = [f32(x[k]) for k in keys]
    assert_close(traced(*args), fn(*args))
  assert traced.experimental_get_tracing_count() == 1

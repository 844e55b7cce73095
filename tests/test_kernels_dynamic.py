"""Tests for common/kernels/dynamic.py (spec ntm_dnc.md 3.3, 3.5, 4.4, 8.5-8.6, 8.10).

DNC usage, allocation (stable sort, lowest index wins ties), write weighting,
temporal link / precedence, directional read weights and the read-mode mix.
"""
import numpy as np
import pytest
import tensorflow as tf

from common.kernels import dynamic
from kernel_testing import assert_close, f32, max_jacobian_error, simplex, sub_simplex

B, H, R, N, W = 3, 2, 3, 7, 5
EPS = 1e-6


def distinct_usage(rng, batch, slots=N):
  """Usage values at least ~0.1 apart (no ties, no order change under a 1e-6 nudge)."""
  base = np.linspace(0.05, 0.95, slots)
  return np.stack([rng.permutation(base) for _ in range(batch)]) + rng.uniform(-0.01, 0.01, (batch, slots))


def random_link(rng, batch, heads=H, slots=N):
  link = rng.uniform(0.0, 1.0 / slots, size=(batch, heads, slots, slots))
  link[..., np.arange(slots), np.arange(slots)] = 0.0
  return link


def make_inputs(rng, batch=B, slots=N):
  usage = rng.uniform(0.0, 1.0, size=(batch, slots))
  usage[:, 0] = 0.0  # ties: exercise the stable sort
  usage[:, 3] = 0.0
  usage[:, 4] = usage[:, 2]
  return dict(
      usage=usage,
      prev_write_weights=sub_simplex(rng, (batch, H, slots)),
      free_gates=rng.uniform(0.0, 1.0, size=(batch, R, 1)),
      prev_read_weights=simplex(rng, (batch, R, slots)),
      usage_gates=rng.uniform(0.1, 1.0, size=(batch, H, 1)),
      content=simplex(rng, (batch, H, slots)),
      allocation_weights=sub_simplex(rng, (batch, H, slots)),
      allocation_gate=rng.uniform(0.0, 1.0, size=(batch, H, 1)),
      write_gate=rng.uniform(0.0, 1.0, size=(batch, H, 1)),
      link=random_link(rng, batch, slots=slots),
      precedence=sub_simplex(rng, (batch, H, slots)),
      write_weights=sub_simplex(rng, (batch, H, slots)),
      read_content=simplex(rng, (batch, R, slots)),
      forward_weights=simplex(rng, (batch, R, H, slots)),
      backward_weights=simplex(rng, (batch, R, H, slots)),
      read_modes=simplex(rng, (batch, R, 2 * H + 1)),
  )


# --------------------------------------------------------------------------- numpy references (spec 3.3)

def np_usage_after_write(usage, prev_ww):
  usage, prev_ww = np.asarray(usage, np.float64), np.asarray(prev_ww, np.float64)
  out = np.zeros_like(usage)
  for b in range(usage.shape[0]):
    for i in range(usage.shape[1]):
      not_written = 1.0
      for j in range(prev_ww.shape[1]):
        not_written *= 1.0 - prev_ww[b, j, i]
      out[b, i] = usage[b, i] + (1.0 - usage[b, i]) * (1.0 - not_written)
  return out


def np_usage_after_free(usage, free_gates, prev_wr):
  usage = np.asarray(usage, np.float64)
  out = np.zeros_like(usage)
  for b in range(usage.shape[0]):
    for i in range(usage.shape[1]):
      retention = 1.0
      for r in range(prev_wr.shape[1]):
        retention *= 1.0 - float(free_gates[b, r, 0]) * float(prev_wr[b, r, i])
      out[b, i] = usage[b, i] * retention
  return out


def np_allocation(usage, eps=EPS):
  usage = np.asarray(usage, np.float64)
  out = np.zeros_like(usage)
  for b in range(usage.shape[0]):
    floored = eps + (1.0 - eps) * usage[b]
    order = np.argsort(floored, kind="stable")
    product = 1.0
    for k in order:
      out[b, k] = (1.0 - floored[k]) * product
      product *= floored[k]
  return out


def np_allocation_per_head(usage, usage_gates, eps=EPS):
  usage = np.asarray(usage, np.float64).copy()
  allocations = []
  for j in range(usage_gates.shape[1]):
    a = np_allocation(usage, eps)
    allocations.append(a)
    usage = usage + (1.0 - usage) * np.asarray(usage_gates[:, j], np.float64) * a
  return np.stack(allocations, axis=1), usage


def np_write_weighting(content, alloc, alloc_gate, write_gate):
  out = np.zeros(np.shape(content))
  for b in range(out.shape[0]):
    for j in range(out.shape[1]):
      ga, gw = float(alloc_gate[b, j, 0]), float(write_gate[b, j, 0])
      for i in range(out.shape[2]):
        out[b, j, i] = gw * (ga * float(alloc[b, j, i]) + (1.0 - ga) * float(content[b, j, i]))
  return out


def np_update_link(link, precedence, ww):
  link = np.asarray(link, np.float64)
  out = np.zeros_like(link)
  batch, heads, slots, _ = link.shape
  for z in range(batch):
    for j in range(heads):
      for a in range(slots):
        for c in range(slots):
          if a == c:
            continue
          out[z, j, a, c] = ((1.0 - ww[z, j, a] - ww[z, j, c]) * link[z, j, a, c]
                             + ww[z, j, a] * precedence[z, j, c])
  return out


def np_update_precedence(precedence, ww):
  precedence = np.asarray(precedence, np.float64)
  out = np.zeros_like(precedence)
  for z in range(out.shape[0]):
    for j in range(out.shape[1]):
      total = float(np.sum(np.asarray(ww[z, j], np.float64)))
      for i in range(out.shape[2]):
        out[z, j, i] = (1.0 - total) * precedence[z, j, i] + ww[z, j, i]
  return out


def np_directional(link, prev_wr, forward):
  link = np.asarray(link, np.float64)
  batch, heads, slots, _ = link.shape
  reads = prev_wr.shape[1]
  out = np.zeros((batch, reads, heads, slots))
  for z in range(batch):
    for r in range(reads):
      for j in range(heads):
        for a in range(slots):
          for c in range(slots):
            entry = link[z, j, a, c] if forward else link[z, j, c, a]
            out[z, r, j, a] += entry * prev_wr[z, r, c]
  return out


def np_read_weighting(content, fwd, bwd, modes):
  batch, reads, heads, slots = np.shape(fwd)
  out = np.zeros((batch, reads, slots))
  for z in range(batch):
    for r in range(reads):
      out[z, r] = modes[z, r, 2 * heads] * np.asarray(content[z, r], np.float64)
      for j in range(heads):
        out[z, r] += modes[z, r, heads + j] * np.asarray(fwd[z, r, j], np.float64)
        out[z, r] += modes[z, r, j] * np.asarray(bwd[z, r, j], np.float64)
  return out


# --------------------------------------------------------------------------- spec 4.4 reference numbers

def test_allocation_reference_numbers():
  result = dynamic.allocation(f32([[0.5, 0.1, 0.9, 0.1]]))
  assert result.shape == (1, 4)
  assert_close(result[0], [5.000085e-3, 8.999991e-1, 5.00009e-4, 9.000072e-2], rtol=1e-5, atol=0)
  # tie between slots 1 and 3 (both 0.1): the lower index is allocated first
  assert result[0, 1] > result[0, 3]


def test_allocation_all_free_goes_to_slot_zero():
  result = dynamic.allocation(tf.zeros((2, N))).numpy()
  assert np.all(np.argmax(result, axis=-1) == 0)
  expected = [(1 - EPS) * EPS ** k for k in range(N)]
  assert_close(result, np.tile(expected, (2, 1)), rtol=1e-5, atol=0)


@pytest.mark.parametrize("jit", [False, True])
def test_allocation_ties_lowest_index_first(jit):
  usage = np.array([[0.3, 0.0, 0.3, 0.0, 0.7, 0.0, 0.3],
                    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
  fn = tf.function(dynamic.allocation, jit_compile=True) if jit else dynamic.allocation
  result = fn(f32(usage)).numpy()
  assert_close(result, np_allocation(np.float32(usage)), rtol=1e-5, atol=0)
  assert result[0, 1] > result[0, 3] > result[0, 5]
  assert result[0, 0] > result[0, 2] > result[0, 6]


def test_link_two_step_reference():
  link = tf.zeros((1, 1, 4, 4))
  precedence = tf.zeros((1, 1, 4))
  for slot in (0, 1):
    weights = tf.one_hot([[slot]], 4)
    link = dynamic.update_link(link, precedence, weights)  # link first, then precedence
    precedence = dynamic.update_precedence(precedence, weights)
  expected = np.zeros((4, 4))
  expected[1, 0] = 1.0
  np.testing.assert_array_equal(link.numpy()[0, 0], expected)
  np.testing.assert_array_equal(precedence.numpy()[0, 0], [0.0, 1.0, 0.0, 0.0])
  # a read head sitting on slot 0 moves to slot 1 by the forward mode, and back by backward
  on_zero = tf.one_hot([[0]], 4)
  on_one = tf.one_hot([[1]], 4)
  forward = dynamic.directional_read_weights(link, on_zero, forward=True)
  backward = dynamic.directional_read_weights(link, on_one, forward=False)
  np.testing.assert_array_equal(forward.numpy()[0, 0, 0], [0.0, 1.0, 0.0, 0.0])
  np.testing.assert_array_equal(backward.numpy()[0, 0, 0], [1.0, 0.0, 0.0, 0.0])


# --------------------------------------------------------------------------- numpy references, random batched

def test_usage_after_write_matches_numpy():
  x = make_inputs(np.random.default_rng(1))
  result = dynamic.usage_after_write(f32(x["usage"]), f32(x["prev_write_weights"]))
  assert result.shape == (B, N)
  assert_close(result, np_usage_after_write(np.float32(x["usage"]), np.float32(x["prev_write_weights"])))


def test_usage_after_free_matches_numpy():
  x = make_inputs(np.random.default_rng(2))
  args = [x[k] for k in ("usage", "free_gates", "prev_read_weights")]
  result = dynamic.usage_after_free(*[f32(a) for a in args])
  assert result.shape == (B, N)
  assert_close(result, np_usage_after_free(*[np.float32(a) for a in args]))


@pytest.mark.parametrize("seed", [3, 4])
def test_allocation_matches_numpy(seed):
  x = make_inputs(np.random.default_rng(seed))
  result = dynamic.allocation(f32(x["usage"]))
  assert result.shape == (B, N)
  assert_close(result, np_allocation(np.float32(x["usage"])), rtol=1e-5, atol=1e-7)


def test_allocation_custom_epsilon_matches_numpy():
  x = make_inputs(np.random.default_rng(5))
  result = dynamic.allocation(f32(x["usage"]), epsilon=1e-2)
  assert_close(result, np_allocation(np.float32(x["usage"]), eps=1e-2), rtol=1e-5, atol=1e-7)


def test_allocation_per_head_matches_numpy():
  """Tie-free usage: after the first head, float32 rounding of ~1e-12 usages would
  make the float64 reference break near-ties differently."""
  rng = np.random.default_rng(6)
  x = dict(usage=distinct_usage(rng, B), usage_gates=rng.uniform(0.1, 1.0, size=(B, H, 1)))
  allocations, usage = dynamic.allocation_per_head(f32(x["usage"]), f32(x["usage_gates"]))
  assert allocations.shape == (B, H, N) and usage.shape == (B, N)
  expected_alloc, expected_usage = np_allocation_per_head(np.float32(x["usage"]),
                                                          np.float32(x["usage_gates"]))
  assert_close(allocations, expected_alloc, rtol=1e-5, atol=1e-6)
  assert_close(usage, expected_usage)


def test_allocation_per_head_sequential_heads_take_distinct_slots():
  gates = tf.ones((2, 3, 1))
  allocations, usage = dynamic.allocation_per_head(tf.zeros((2, N)), gates)
  winners = np.argmax(allocations.numpy(), axis=-1)  # [B, heads]
  for row in winners:
    assert len(set(row.tolist())) == 3
  assert winners[0, 0] == 0  # the first head takes the lowest free slot
  # the first head alone: exactly allocation() of the input usage
  assert_close(allocations[:, 0], dynamic.allocation(tf.zeros((2, N))), rtol=0, atol=0)
  assert np.all(usage.numpy() <= 1.0 + 1e-6)


def test_write_weighting_matches_numpy():
  x = make_inputs(np.random.default_rng(7))
  args = [x[k] for k in ("content", "allocation_weights", "allocation_gate", "write_gate")]
  result = dynamic.write_weighting(*[f32(a) for a in args])
  assert result.shape == (B, H, N)
  assert_close(result, np_write_weighting(*[np.float32(a) for a in args]))


def test_update_link_matches_numpy():
  x = make_inputs(np.random.default_rng(8))
  args = [x[k] for k in ("link", "precedence", "write_weights")]
  result = dynamic.update_link(*[f32(a) for a in args])
  assert result.shape == (B, H, N, N)
  assert_close(result, np_update_link(*[np.float32(a) for a in args]))


def test_update_link_zeroes_nonzero_input_diagonal():
  x = make_inputs(np.random.default_rng(9))
  link = x["link"] + 0.1  # diagonal non-zero on input
  result = dynamic.update_link(f32(link), f32(x["precedence"]), f32(x["write_weights"])).numpy()
  np.testing.assert_array_equal(result[..., np.arange(N), np.arange(N)], 0.0)


def test_update_precedence_matches_numpy():
  x = make_inputs(np.random.default_rng(10))
  args = [x[k] for k in ("precedence", "write_weights")]
  result = dynamic.update_precedence(*[f32(a) for a in args])
  assert result.shape == (B, H, N)
  assert_close(result, np_update_precedence(*[np.float32(a) for a in args]))


@pytest.mark.parametrize("forward", [True, False])
def test_directional_read_weights_matches_numpy(forward):
  x = make_inputs(np.random.default_rng(11))
  result = dynamic.directional_read_weights(f32(x["link"]), f32(x["prev_read_weights"]), forward)
  assert result.shape == (B, R, H, N)
  assert_close(result, np_directional(np.float32(x["link"]), np.float32(x["prev_read_weights"]), forward))


def test_directional_read_weights_are_link_times_weights():
  """forward = L w and backward = L^T w, per batch row, read head and write head."""
  x = make_inputs(np.random.default_rng(12))
  link, reads = np.float32(x["link"]), np.float32(x["prev_read_weights"])
  fwd = dynamic.directional_read_weights(f32(link), f32(reads), forward=True).numpy()
  bwd = dynamic.directional_read_weights(f32(link), f32(reads), forward=False).numpy()
  for z in range(B):
    for r in range(R):
      for j in range(H):
        assert_close(fwd[z, r, j], link[z, j] @ reads[z, r])
        assert_close(bwd[z, r, j], link[z, j].T @ reads[z, r])


def test_read_weighting_matches_numpy():
  x = make_inputs(np.random.default_rng(13))
  args = [x[k] for k in ("read_content", "forward_weights", "backward_weights", "read_modes")]
  result = dynamic.read_weighting(*[f32(a) for a in args])
  assert result.shape == (B, R, N)
  assert_close(result, np_read_weighting(*[np.float32(a) for a in args]))


@pytest.mark.parametrize("mode, slot", [(0, 3), (1, 4), (2, 1), (3, 2), (4, 0)])
def test_read_weighting_mode_layout(mode, slot):
  """Modes [0, h) backward, [h, 2h) forward, 2h content (h = 2 here)."""
  content = np.zeros((1, 1, N)); content[0, 0, 0] = 1.0
  fwd = np.zeros((1, 1, H, N)); fwd[0, 0, 0, 1] = 1.0; fwd[0, 0, 1, 2] = 1.0
  bwd = np.zeros((1, 1, H, N)); bwd[0, 0, 0, 3] = 1.0; bwd[0, 0, 1, 4] = 1.0
  modes = np.zeros((1, 1, 2 * H + 1)); modes[0, 0, mode] = 1.0
  result = dynamic.read_weighting(f32(content), f32(fwd), f32(bwd), f32(modes)).numpy()
  np.testing.assert_array_equal(result[0, 0], np.eye(N)[slot])


# --------------------------------------------------------------------------- properties

def test_usage_equations_stay_in_unit_interval():
  x = make_inputs(np.random.default_rng(14))
  usage = f32(x["usage"])
  written = dynamic.usage_after_write(usage, f32(x["prev_write_weights"])).numpy()
  freed = dynamic.usage_after_free(usage, f32(x["free_gates"]), f32(x["prev_read_weights"])).numpy()
  assert np.all(written >= usage.numpy()) and np.all(written <= 1.0)
  assert np.all(freed <= usage.numpy()) and np.all(freed >= 0.0)
  # full write marks a slot used; full free with a one-hot read clears it
  one_hot = np.zeros((1, 1, N)); one_hot[0, 0, 2] = 1.0
  assert dynamic.usage_after_write(tf.zeros((1, N)), f32(one_hot)).numpy()[0, 2] == 1.0
  cleared = dynamic.usage_after_free(tf.ones((1, N)), tf.ones((1, 1, 1)), f32(one_hot)).numpy()[0]
  np.testing.assert_array_equal(cleared, 1.0 - np.eye(N)[2])


def test_allocation_properties():
  rng = np.random.default_rng(15)
  for _ in range(5):
    usage = distinct_usage(rng, B)
    alloc = dynamic.allocation(f32(usage)).numpy()
    assert np.all(alloc >= 0.0)
    assert np.all(alloc.sum(axis=-1) <= 1.0 + 1e-6)
    np.testing.assert_array_equal(np.argmax(alloc, axis=-1), np.argmin(usage, axis=-1))
  fully_used = dynamic.allocation(tf.ones((1, N))).numpy()
  assert_close(fully_used, np.zeros((1, N)), rtol=0, atol=1e-6)


def test_link_and_precedence_properties_over_random_writes():
  rng = np.random.default_rng(16)
  link = tf.zeros((B, H, N, N))
  precedence = tf.zeros((B, H, N))
  for step in range(12):
    alpha = 0.1 if step % 2 else 1.0  # alternate near-one-hot and diffuse writes
    weights = rng.dirichlet(np.full(N, alpha), size=(B, H)) * rng.uniform(0.0, 1.0, size=(B, H, 1))
    if step == 5:
      weights[0, 0] = np.eye(N)[3]  # an exact one-hot write (sum exactly 1)
    weights = f32(weights)
    link = dynamic.update_link(link, precedence, weights)
    precedence = dynamic.update_precedence(precedence, weights)
    L, p = link.numpy(), precedence.numpy()
    np.testing.assert_array_equal(L[..., np.arange(N), np.arange(N)], 0.0)
    assert np.all(L >= 0.0) and np.all(L <= 1.0 + 1e-6)
    assert np.all(L.sum(axis=-1) <= 1.0 + 1e-5)
    assert np.all(L.sum(axis=-2) <= 1.0 + 1e-5)
    assert np.all(p >= 0.0) and np.all(p.sum(axis=-1) <= 1.0 + 1e-5)


def test_first_step_allocation_avoids_slot_zero():
  """Spec 3.4: one-hot slot-0 initial weights mark slot 0 used, freeing leaves
  prod_r (1 - f_r) = 0.5^4 of it, so the first allocation goes to slot 1."""
  one_hot = tf.one_hot(tf.zeros((2, 1), tf.int32), N)  # [2, 1, N]
  usage = dynamic.usage_after_write(tf.zeros((2, N)), one_hot)
  np.testing.assert_array_equal(usage.numpy(), np.tile(np.eye(N)[0], (2, 1)))
  reads = tf.tile(one_hot, [1, 4, 1])
  usage = dynamic.usage_after_free(usage, tf.fill((2, 4, 1), 0.5), reads)
  assert_close(usage.numpy()[:, 0], [0.0625, 0.0625], rtol=1e-7, atol=0)
  alloc = dynamic.allocation(usage).numpy()
  np.testing.assert_array_equal(np.argmax(alloc, axis=-1), [1, 1])


@pytest.mark.parametrize("slots", [16, 64])
def test_allocation_gradient_finite_when_all_free(slots):
  """Pitfall 8.5: the 1e-6 floor keeps cumprod's gradient (which divides by x)
  finite in float32 even where the products underflow."""
  usage = tf.zeros((2, slots))
  gates = tf.ones((2, H, 1))
  with tf.GradientTape() as tape:
    tape.watch(usage)
    allocations, new_usage = dynamic.allocation_per_head(usage, gates)
    weights = tf.range(slots, dtype=tf.float32)
    loss = tf.reduce_sum(allocations * weights) + tf.reduce_sum(new_usage * weights)
  grad = tape.gradient(loss, usage).numpy()
  assert np.all(np.isfinite(grad))


# --------------------------------------------------------------------------- float64 gradient checks

GRAD_TOL = 1e-5


def grad_inputs(seed, batch=2, slots=5):
  """Small inputs: compute_gradient re-runs forward and backward per output element."""
  return make_inputs(np.random.default_rng(seed), batch=batch, slots=slots)


def test_usage_after_write_gradient():
  x = grad_inputs(20)
  err = max_jacobian_error(dynamic.usage_after_write, [x["usage"], x["prev_write_weights"]])
  assert err < GRAD_TOL


def test_usage_after_free_gradient():
  x = grad_inputs(21)
  err = max_jacobian_error(dynamic.usage_after_free,
                           [x["usage"], x["free_gates"], x["prev_read_weights"]])
  assert err < GRAD_TOL


def test_allocation_gradient():
  usage = distinct_usage(np.random.default_rng(22), 2)
  assert max_jacobian_error(dynamic.allocation, [usage]) < GRAD_TOL


def test_allocation_per_head_gradient():
  rng = np.random.default_rng(23)
  usage = distinct_usage(rng, 1, slots=5)
  gates = rng.uniform(0.2, 0.9, size=(1, H, 1))

  def stacked(u, g):
    allocations, new_usage = dynamic.allocation_per_head(u, g)
    return tf.concat([tf.reshape(allocations, [1, -1]), new_usage], axis=-1)

  assert max_jacobian_error(stacked, [usage, gates]) < GRAD_TOL


def test_write_weighting_gradient():
  x = grad_inputs(24)
  args = [x[k] for k in ("content", "allocation_weights", "allocation_gate", "write_gate")]
  assert max_jacobian_error(dynamic.write_weighting, args) < GRAD_TOL


def test_update_link_gradient():
  x = grad_inputs(25, batch=1)
  args = [x[k] for k in ("link", "precedence", "write_weights")]
  assert max_jacobian_error(dynamic.update_link, args) < GRAD_TOL


def test_update_precedence_gradient():
  x = grad_inputs(26)
  args = [x[k] for k in ("precedence", "write_weights")]
  assert max_jacobian_error(dynamic.update_precedence, args) < GRAD_TOL


@pytest.mark.parametrize("forward", [True, False])
def test_directional_read_weights_gradient(forward):
  x = grad_inputs(27)
  fn = lambda link, weights: dynamic.directional_read_weights(link, weights, forward)
  assert max_jacobian_error(fn, [x["link"], x["prev_read_weights"]]) < GRAD_TOL


def test_read_weighting_gradient():
  x = grad_inputs(28, batch=1)
  args = [x[k] for k in ("read_content", "forward_weights", "backward_weights", "read_modes")]
  assert max_jacobian_error(dynamic.read_weighting, args) < GRAD_TOL


# --------------------------------------------------------------------------- XLA and unknown batch

CASES = {
    "usage_after_write": (dynamic.usage_after_write, ("usage", "prev_write_weights")),
    "usage_after_free": (dynamic.usage_after_free, ("usage", "free_gates", "prev_read_weights")),
    "allocation": (dynamic.allocation, ("usage",)),  # inputs contain ties
    "allocation_per_head": (dynamic.allocation_per_head, ("usage", "usage_gates")),
    "write_weighting": (dynamic.write_weighting,
                        ("content", "allocation_weights", "allocation_gate", "write_gate")),
    "update_link": (dynamic.update_link, ("link", "precedence", "write_weights")),
    "update_precedence": (dynamic.update_precedence, ("precedence", "write_weights")),
    "directional_forward": (lambda link, w: dynamic.directional_read_weights(link, w, True),
                            ("link", "prev_read_weights")),
    "directional_backward": (lambda link, w: dynamic.directional_read_weights(link, w, False),
                             ("link", "prev_read_weights")),
    "read_weighting": (dynamic.read_weighting,
                       ("read_content", "forward_weights", "backward_weights", "read_modes")),
}


def assert_nested_close(actual, expected, **kwargs):
  actual, expected = tf.nest.flatten(actual), tf.nest.flatten(expected)
  assert len(actual) == len(expected)
  for a, e in zip(actual, expected):
    assert a.shape == e.shape and a.dtype == e.dtype
    assert_close(a, e, **kwargs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_xla_matches_eager(name):
  fn, keys = CASES[name]
  x = make_inputs(np.random.default_rng(30))
  args = [f32(x[k]) for k in keys]
  eager = fn(*args)
  compiled = tf.function(fn, jit_compile=True)(*args)
  assert_nested_close(compiled, eager, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_unknown_batch_dimension(name):
  fn, keys = CASES[name]
  x3 = make_inputs(np.random.default_rng(31), batch=3)
  x1 = make_inputs(np.random.default_rng(32), batch=1)
  signature = [tf.TensorSpec([None] + list(np.shape(x3[k]))[1:], tf.float32) for k in keys]
  traced = tf.function(fn, input_signature=signature)
  for x in (x3, x1):
    args = [f32(x[k]) for k in keys]
    assert_nested_close(traced(*args), fn(*args))
  assert traced.experimental_get_tracing_count() == 1

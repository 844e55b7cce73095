"""Read and write heads (pytorch-dnc `core/head.py` and `core/heads/`).

One head module serves all heads of its kind: each linear map `hid_2_<name>`
outputs `num_heads * k` units, reshaped head-major to `[B, num_heads, k]`. A head
turns the controller's hidden state into a weighting over memory slots
(`_content_focus` then `_location_focus`) and uses it on memory (`_access`).

For speed the circuit applies all of a head module's linear maps in one matmul
(`fused_kernel`) and hands the head its block of pre-activations `[B, units]`;
the maps stay separate variables named as in the original. Previous weightings
are passed in and returned (functional recurrent state).

`params` is the circuit's attribute bag: hidden_dim, mem_hei, mem_wid,
num_allowed_shifts, one_hot_init_weights, tanh_keys, oneplus_strengths,
sharpen_epsilon, usage_stop_gradient, persist_alloc_usage.
"""
import tensorflow as tf

from common.kernels import addressing, dynamic, memory as memory_ops
from common.layers import torch_dense


# Order of activation groups in the fused interface (softmax maps come last,
# one softmax each); grouping lets one op activate every map of a kind.
_ACTIVATIONS = ('tanh', 'linear', 'sigmoid', 'softplus', 'oneplus', 'softmax')
_ACTIVATION_FNS = {
    'tanh': tf.tanh, 'linear': tf.identity, 'sigmoid': tf.sigmoid,
    'softplus': tf.nn.softplus, 'oneplus': lambda x: 1.0 + tf.nn.softplus(x),
}


class Head(tf.keras.layers.Layer):
  """Base: key and strength maps and content focus, shared by NTM and DNC heads."""

  def __init__(self, params, num_heads, name):
    super().__init__(name=name)
    self.params, self.num_heads = params, num_heads
    self.mem_hei, self.mem_wid = params.mem_hei, params.mem_wid
    self.maps = []  # (name, units per head, activation)
    self._add_map('key', self.mem_wid, 'tanh' if params.tanh_keys else 'linear')
    self._add_map('beta', 1, 'oneplus' if params.oneplus_strengths else 'softplus')

  def _add_map(self, name, units_per_head, activation):
    layer = torch_dense(self.num_heads * units_per_head, self.params.hidden_dim, 'hid_2_' + name)
    setattr(self, 'hid_2_' + name, layer)
    self.maps.append((name, units_per_head, activation))
    # Fused layout: grouped by activation, then in definition order.
    self._fused_order = sorted(self.maps, key=lambda m: _ACTIVATIONS.index(m[2]))

  @property
  def interface_size(self):
    return self.num_heads * sum(units for _, units, _ in self.maps)

  def fused_kernel(self):
    """All maps as one kernel `[H, units]` and bias `[units]`, laid out head-major
    (`[num_heads, units per head]`) and grouped by activation, so `_split` needs
    one reshape and one op per activation."""
    kernels, biases = [], []
    for name, units, _ in self._fused_order:
      layer = getattr(self, 'hid_2_' + name)
      kernels.append(tf.reshape(layer.kernel, [-1, self.num_heads, units]))
      biases.append(tf.reshape(layer.bias, [self.num_heads, units]))
    kernel = tf.reshape(tf.concat(kernels, axis=-1), [-1, self.interface_size])
    return kernel, tf.reshape(tf.concat(biases, axis=-1), [-1])

  def _split(self, interface_vb):
    """Pre-activations `[B, units]` -> {name: activated `[B, num_heads, k]`}."""
    per_head = tf.reshape(interface_vb, [-1, self.num_heads, self.interface_size // self.num_heads])
    groups = [[m for m in self._fused_order if m[2] == act] for act in _ACTIVATIONS]
    groups = [(act, maps) for act, maps in zip(_ACTIVATIONS, groups) if maps]
    blocks = tf.split(per_head, [sum(units for _, units, _ in maps) for _, maps in groups],
                      axis=-1)
    parts = {}
    for (activation, maps), block in zip(groups, blocks):
      if activation != 'softmax':
        block = _ACTIVATION_FNS[activation](block)
      values = tf.split(block, [units for _, units, _ in maps], axis=-1) if len(maps) > 1 else [block]
      for (name, _, _), value in zip(maps, values):
        parts[name] = tf.nn.softmax(value, axis=-1) if activation == 'softmax' else value
    return parts

  def _content_focus(self, parts, memory_vb):
    """Returns `[B, h, N]` content weights on `memory_vb` `[B, N, W]`."""
    return addressing.content_weights(parts['key'], parts['beta'], memory_vb)

  def initial_weights(self, batch_size):
    """`[B, h, N]`: one-hot on slot 0 (the original, quirk Q2) or zeros."""
    if self.params.one_hot_init_weights:
      return tf.one_hot(tf.zeros([batch_size, self.num_heads], tf.int32), self.mem_hei)
    return tf.zeros([batch_size, self.num_heads, self.mem_hei])


class StaticHead(Head):
  """NTM addressing: content focus, interpolation, circular shift, sharpening."""

  def __init__(self, params, num_heads, name):
    super().__init__(params, num_heads, name)
    self.num_allowed_shifts = params.num_allowed_shifts
    self._add_map('gate', 1, 'sigmoid')
    self._add_map('shift', self.num_allowed_shifts, 'softmax')
    self._add_map('gamma', 1, 'oneplus')

  def _location_focus(self, parts, content_vb, prev_weights_vb):
    return addressing.ntm_location_focus(content_vb, prev_weights_vb, parts['gate'],
                                         parts['shift'], parts['gamma'],
                                         self.params.sharpen_epsilon)

  def _address(self, parts, memory_vb, prev_weights_vb):
    return self._location_focus(parts, self._content_focus(parts, memory_vb), prev_weights_vb)


class StaticWriteHead(StaticHead):

  def __init__(self, params, num_heads, name='write_heads'):
    super().__init__(params, num_heads, name)
    self._add_map('erase', self.mem_wid, 'sigmoid')
    self._add_map('add', self.mem_wid, 'tanh')

  def call(self, interface_vb, memory_vb, prev_weights_vb):
    """Address the pre-write memory, then erase and add.

    Args: interface_vb `[B, interface_size]`; memory_vb `[B, N, W]`;
      prev_weights_vb `[B, h, N]`.
    Returns: new memory `[B, N, W]`, write weights `[B, h, N]`.
    """
    parts = self._split(interface_vb)
    weights = self._address(parts, memory_vb, prev_weights_vb)
    return memory_ops.write(memory_vb, weights, parts['erase'], parts['add']), weights


class StaticReadHead(StaticHead):

  def __init__(self, params, num_heads, name='read_heads'):
    super().__init__(params, num_heads, name)

  def call(self, interface_vb, memory_vb, prev_weights_vb):
    """Args: as StaticWriteHead, on the post-write memory.
    Returns: read vectors `[B, h, W]`, read weights `[B, h, N]`."""
    weights = self._address(self._split(interface_vb), memory_vb, prev_weights_vb)
    return memory_ops.read(memory_vb, weights), weights


class DynamicWriteHead(Head):
  """DNC write head: content focus blended with allocation by gates."""

  def __init__(self, params, num_heads, name='write_heads'):
    super().__init__(params, num_heads, name)
    self._add_map('alloc_gate', 1, 'sigmoid')
    self._add_map('write_gate', 1, 'sigmoid')
    self._add_map('erase', self.mem_wid, 'sigmoid')
    self._add_map('add', self.mem_wid, 'tanh' if params.tanh_keys else 'linear')

  def _update_usage(self, usage_vb, prev_weights_vb):
    """Usage after the previous step's writes; `[B, N]`."""
    if self.params.usage_stop_gradient:
      prev_weights_vb = tf.stop_gradient(prev_weights_vb)
    return dynamic.usage_after_write(usage_vb, prev_weights_vb)

  def call(self, interface_vb, memory_vb, usage_vb):
    """Address by content and allocation, then erase and add.

    Args: interface_vb `[B, interface_size]`; memory_vb `[B, N, W]` (pre-write);
      usage_vb `[B, N]` (after freeing).
    Returns: new memory `[B, N, W]`, write weights `[B, h, N]`, usage to carry
      `[B, N]` (the allocation-simulated usage when quirk Q1 is on, else unchanged).
    """
    parts = self._split(interface_vb)
    content_vb = self._content_focus(parts, memory_vb)
    alloc_gate, write_gate = parts['alloc_gate'], parts['write_gate']
    if self.params.persist_alloc_usage:
      # jingweiz: scaled by the write gate, and the in-place update persists.
      allocations, usage_vb = dynamic.allocation_per_head(usage_vb, write_gate)
    else:
      # DeepMind reference: scaled by both gates, local to this step.
      allocations, _ = dynamic.allocation_per_head(usage_vb, alloc_gate * write_gate)
    weights = dynamic.write_weighting(content_vb, allocations, alloc_gate, write_gate)
    memory_vb = memory_ops.write(memory_vb, weights, parts['erase'], parts['add'])
    return memory_vb, weights, usage_vb


class DynamicReadHead(Head):
  """DNC read head: content focus mixed with forward/backward temporal links."""

  def __init__(self, params, num_heads, num_write_heads, name='read_heads'):
    super().__init__(params, num_heads, name)
    self.num_read_modes = 2 * num_write_heads + 1
    self._add_map('free_gate', 1, 'sigmoid')
    self._add_map('read_mode', self.num_read_modes, 'softmax')

  def _update_usage(self, parts, usage_vb, prev_weights_vb):
    """Free what was read at t-1 as the free gates say; `parts` from `_split`.
    Returns `[B, N]`."""
    return dynamic.usage_after_free(usage_vb, parts['free_gate'], prev_weights_vb)

  def call(self, parts, memory_vb, link_vb, prev_weights_vb):
    """Args: parts: `_split` of this head's interface (split once per step, as the
    free gates are needed earlier); memory_vb `[B, N, W]` (post-write);
    link_vb `[B, Hw, N, N]` (updated); prev_weights_vb `[B, R, N]`.
    Returns: read vectors `[B, R, W]`, read weights `[B, R, N]`."""
    content_vb = self._content_focus(parts, memory_vb)
    modes = parts['read_mode']
    forward = dynamic.directional_read_weights(link_vb, prev_weights_vb, forward=True)
    backward = dynamic.directional_read_weights(link_vb, prev_weights_vb, forward=False)
    weights = dynamic.read_weighting(content_vb, forward, backward, modes)
    return memory_ops.read(memory_vb, weights), weights

"""Accessors: write heads, read heads and memory together (pytorch-dnc `core/accessor.py`).

State is a named tuple so checkpoints, visualisation and tests can name its parts.
"""
import collections

import tensorflow as tf

from common.kernels import dynamic
from ntm_dnc.core.heads import (DynamicReadHead, DynamicWriteHead, StaticReadHead,
                                StaticWriteHead)
from ntm_dnc.core.memory import External2DMemory

StaticAccessorState = collections.namedtuple(
    'StaticAccessorState', ('memory', 'write_weights', 'read_weights'))
DynamicAccessorState = collections.namedtuple(
    'DynamicAccessorState',
    ('memory', 'usage', 'link', 'precedence', 'write_weights', 'read_weights'))


class Accessor(tf.keras.layers.Layer):

  def __init__(self, params, name='accessor'):
    super().__init__(name=name)
    self.params = params
    self.num_write_heads, self.num_read_heads = params.num_write_heads, params.num_read_heads
    self.memory = External2DMemory(params.mem_hei, params.mem_wid)

  def fused_kernel(self):
    """Every head map as one kernel `[H, units]` and bias `[units]`:
    the write heads' block first, then the read heads'."""
    (write_k, write_b), (read_k, read_b) = (self.write_heads.fused_kernel(),
                                            self.read_heads.fused_kernel())
    return tf.concat([write_k, read_k], axis=1), tf.concat([write_b, read_b], axis=0)

  def _split_interface(self, interface_vb):
    return tf.split(interface_vb, [self.write_heads.interface_size,
                                   self.read_heads.interface_size], axis=-1)

  def call(self, hidden_vb, state):
    """Args: hidden_vb `[B, H]`; state: the accessor's state tuple.
    Returns: read vectors `[B, R, W]` and the next state."""
    kernel, bias = self.fused_kernel()
    return self.step(tf.matmul(hidden_vb, kernel) + bias, state)


class StaticAccessor(Accessor):
  """NTM: write (addressing the old memory), then read (the new memory)."""

  def __init__(self, params, name='accessor'):
    super().__init__(params, name)
    self.write_heads = StaticWriteHead(params, self.num_write_heads)
    self.read_heads = StaticReadHead(params, self.num_read_heads)

  def initial_state(self, batch_size):
    return StaticAccessorState(
        memory=self.memory.initial_state(batch_size),
        write_weights=self.write_heads.initial_weights(batch_size),
        read_weights=self.read_heads.initial_weights(batch_size))

  def step(self, interface_vb, state):
    """Args: interface_vb `[B, units]` (all head maps applied to h_t);
    state StaticAccessorState. Returns: read vectors `[B, R, W]`, next state."""
    write_if, read_if = self._split_interface(interface_vb)
    memory_vb, write_weights = self.write_heads(write_if, state.memory, state.write_weights)
    read_vec, read_weights = self.read_heads(read_if, memory_vb, state.read_weights)
    return read_vec, StaticAccessorState(memory_vb, write_weights, read_weights)


class DynamicAccessor(Accessor):
  """DNC, in the original's order: usage (writes, then frees), write with
  allocation, temporal link, precedence, read through the links."""

  def __init__(self, params, name='accessor'):
    super().__init__(params, name)
    self.write_heads = DynamicWriteHead(params, self.num_write_heads)
    self.read_heads = DynamicReadHead(params, self.num_read_heads, self.num_write_heads)

  def initial_state(self, batch_size):
    n, hw = self.params.mem_hei, self.num_write_heads
    return DynamicAccessorState(
        memory=self.memory.initial_state(batch_size),
        usage=tf.zeros([batch_size, n]),
        link=tf.zeros([batch_size, hw, n, n]),
        precedence=tf.zeros([batch_size, hw, n]),
        write_weights=self.write_heads.initial_weights(batch_size),
        read_weights=self.read_heads.initial_weights(batch_size))

  def step(self, interface_vb, state):
    """Args: interface_vb `[B, units]` (all head maps applied to h_t);
    state DynamicAccessorState. Returns: read vectors `[B, R, W]`, next state."""
    write_if, read_if = self._split_interface(interface_vb)
    usage = self.write_heads._update_usage(state.usage, state.write_weights)
    read_parts = self.read_heads._split(read_if)
    usage = self.read_heads._update_usage(read_parts, usage, state.read_weights)
    memory_vb, write_weights, usage = self.write_heads(write_if, state.memory, usage)
    link = dynamic.update_link(state.link, state.precedence, write_weights)
    precedence = dynamic.update_precedence(state.precedence, write_weights)
    read_vec, read_weights = self.read_heads(read_parts, memory_vb, link, state.read_weights)
    return read_vec, DynamicAccessorState(memory_vb, usage, link, precedence,
                                          write_weights, read_weights)

"""External memory (pytorch-dnc `core/memory.py`): a `[B, N, W]` matrix per sequence.

As in the original it holds no parameters; it only knows its size and the
initial contents (1e-6 everywhere, which makes the first content weighting
uniform). Reads and writes are the shared kernels in `common.kernels.memory`.
"""
import tensorflow as tf

MEMORY_INIT = 1e-6


class External2DMemory:

  def __init__(self, mem_hei, mem_wid):
    self.mem_hei, self.mem_wid = mem_hei, mem_wid

  def initial_state(self, batch_size):
    """`[B, N, W]` filled with 1e-6."""
    return tf.fill([batch_size, self.mem_hei, self.mem_wid], MEMORY_INIT)

  def __repr__(self):
    return f'External2DMemory(B x {self.mem_hei}(mem_hei) x {self.mem_wid}(mem_wid))'

"""Optimisers with PyTorch's exact update rules, for faithful ports.

Keras' RMSprop puts epsilon inside the square root; PyTorch's puts it outside
and starts the square average at zero. With epsilon 1e-10 the two differ on
small gradients, so the ports use this one.
"""
import tensorflow as tf


class TorchRMSprop(tf.Module):
  """`torch.optim.RMSprop(lr, alpha, eps)`, no momentum, not centred.

  s <- alpha s + (1 - alpha) g^2;  v <- v - lr g / (sqrt(s) + eps).
  Slots are created eagerly here, so the update can run in a `tf.function`
  and be saved in a `tf.train.Checkpoint`.
  """

  def __init__(self, variables, lr=1e-2, alpha=0.99, eps=1e-8, name='rmsprop'):
    super().__init__(name=name)
    self.lr, self.alpha, self.eps = lr, alpha, eps
    self.square_avg = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False,
                                   name=f'square_avg_{i}') for i, v in enumerate(variables)]

  def apply_gradients(self, gradients, variables):
    """`gradients` and `variables` in the order given to the constructor."""
    if len(gradients) != len(self.square_avg):
      raise ValueError(f'expected {len(self.square_avg)} gradients, got {len(gradients)}')
    for grad, var, square_avg in zip(gradients, variables, self.square_avg):
      square_avg.assign(self.alpha * square_avg + (1.0 - self.alpha) * tf.square(grad))
      var.assign_sub(self.lr * grad / (tf.sqrt(square_avg) + self.eps))

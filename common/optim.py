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


class TorchAdam(tf.Module):
  """`torch.optim.Adam(lr, betas, eps)`, no weight decay, no amsgrad.

  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
  var <- var - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
  Keras' Adam differs in where epsilon enters (it scales the uncorrected
  denominator) and defaults to eps 1e-7. `lr` is a variable so a schedule can
  assign it between steps (saved with the slots and the step count `t`).
  """

  def __init__(self, variables, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, name='adam'):
    super().__init__(name=name)
    self.beta1, self.beta2 = betas
    self.eps = eps
    self.lr = tf.Variable(lr, dtype=tf.float32, trainable=False, name='lr')
    self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name='iterations')
    self.exp_avg = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False, name=f'exp_avg_{i}')
                    for i, v in enumerate(variables)]
    self.exp_avg_sq = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False,
                                   name=f'exp_avg_sq_{i}') for i, v in enumerate(variables)]

  def apply_gradients(self, gradients, variables):
    """`gradients` and `variables` in the order given to the constructor; a None
    gradient leaves its variable and slots untouched, as PyTorch does."""
    if len(gradients) != len(self.exp_avg):
      raise ValueError(f'expected {len(self.exp_avg)} gradients, got {len(gradients)}')
    self.iterations.assign_add(1)
    t = tf.cast(self.iterations, tf.float64)
    bias1 = 1.0 - tf.pow(tf.constant(self.beta1, tf.float64), t)
    bias2 = 1.0 - tf.pow(tf.constant(self.beta2, tf.float64), t)
    for grad, var, m, v in zip(gradients, variables, self.exp_avg, self.exp_avg_sq):
      if grad is None:
        continue
      m.assign(self.beta1 * m + (1.0 - self.beta1) * grad)
      v.assign(self.beta2 * v + (1.0 - self.beta2) * tf.square(grad))
      # PyTorch's order: step_size = lr / bias1 and sqrt(bias2) as scalars in
      # double, then cast to the variable's dtype (float64 models stay float64).
      step_size = tf.cast(tf.cast(self.lr, tf.float64) / bias1, var.dtype)
      denom = tf.sqrt(v) / tf.cast(tf.sqrt(bias2), var.dtype) + self.eps
      var.assign_sub(step_size * (m / denom))


class TF1RMSProp(tf.Module):
  """TensorFlow 1's RMSProp as trihuynh88/multigrid_mem's `RMSPropApplier` uses it
  (the `ApplyRMSProp` kernel; multigrid_memory spec 5.2).

  ms <- decay ms + (1 - decay) g^2;  mom <- momentum mom + lr g / sqrt(ms + epsilon);
  var <- var - mom, with the accumulator ms starting at 1 (not 0) and epsilon inside
  the square root (Keras' RMSprop starts at 0 and adds epsilon outside). `lr` is a
  variable, assigned before each update by the caller's schedule (`linear_decay`);
  the slots are saved with it in a `tf.train.Checkpoint`.
  """

  def __init__(self, variables, lr=1e-3, decay=0.99, momentum=0.0, epsilon=0.1,
               initial_accumulator=1.0, name='rmsprop_tf1'):
    super().__init__(name=name)
    self.decay, self.momentum, self.epsilon = decay, momentum, epsilon
    self.lr = tf.Variable(lr, dtype=tf.float32, trainable=False, name='lr')
    self.ms = [tf.Variable(tf.fill(v.shape, tf.cast(initial_accumulator, v.dtype)),
                           trainable=False, name=f'ms_{i}') for i, v in enumerate(variables)]
    self.mom = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False, name=f'mom_{i}')
                for i, v in enumerate(variables)]

  def apply_gradients(self, gradients, variables):
    """`gradients` and `variables` in the order given to the constructor (the fused
    `ResourceApplyRMSProp` kernel per variable, as the original). Mirrored variables
    (`tf.distribute`) are updated on every device, with the same gradient."""
    if len(gradients) != len(self.ms):
      raise ValueError(f'expected {len(self.ms)} gradients, got {len(gradients)}')
    for grad, var, ms, mom in zip(gradients, variables, self.ms, self.mom):
      if isinstance(var, tf.distribute.DistributedValues):   # one update per copy
        var.distribute_strategy.extended.update(var, self._apply, args=(grad, ms, mom),
                                                group=False)
      else:
        self._apply(var, grad, ms, mom)

  def _apply(self, var, grad, ms, mom):
    dtype = var.dtype
    tf.raw_ops.ResourceApplyRMSProp(
        var=var.handle, ms=ms.handle, mom=mom.handle, lr=tf.cast(self.lr, dtype),
        rho=tf.constant(self.decay, dtype), momentum=tf.constant(self.momentum, dtype),
        epsilon=tf.constant(self.epsilon, dtype), grad=grad)


def linear_decay(step, start=1e-3, end=1e-4, decay_steps=1e6):
  """The original's learning rate at global step g (before the update):
  start + (end - start) g / decay_steps while g < decay_steps, then end."""
  step = tf.cast(step, tf.float64)
  rate = start + (end - start) * tf.minimum(step, decay_steps) / decay_steps
  return tf.cast(rate, tf.float32)


def clip_by_global_norm(gradients, clip_norm):
  """TensorFlow's `clip_by_global_norm` (if the global norm N exceeds `clip_norm`,
  every gradient is scaled by clip_norm / N). Returns (clipped, N)."""
  return tf.clip_by_global_norm(gradients, clip_norm)

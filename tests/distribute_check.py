"""One replica against two (a mirrored strategy over two logical CPU devices),
run as a script in a fresh process, since the CPU must be split before
TensorFlow starts:

  python distribute_check.py <checkpoint root> mapping:3 mnist:3 mapping64 mnist64 split

'<task>:<steps>' builds the task's Trainer twice with the same seed, one device
and mirrored, feeds both the same chunks / batches for that many updates and
prints one JSON line: the largest relative differences of the losses, of the
updates (against the largest update of any tensor) and (mapping) of the memory
carried between chunks. '<task>64' compares the summed gradients of a float64
copy of the model on one batch (the math without float32 rounding). 'split'
prints how a batch is split across the replicas and gathered back.
"""
import json
import logging
import os
import random
import sys

import numpy as np

from common import config, runtime

tf = runtime.start_tensorflow(1, 0, cpu_devices=2)
from common import distribute  # noqa: E402
from common.logs import setup_logger  # noqa: E402


def build(task, root, kind, flags):
  if task == 'mapping':
    from multigrid_memory.mapping_localization import constants
    from multigrid_memory.mapping_localization.trainer import Trainer
  else:
    from multigrid_memory.mnist_recall import constants
    from multigrid_memory.mnist_recall.trainer import Trainer
  directory = os.path.join(root, kind)
  args = config.parse(constants, ['check', f'--checkpoint_dir={directory}',
                                  f'--distribute={kind}', *flags])
  os.makedirs(directory, exist_ok=True)
  logger = setup_logger(os.path.join(directory, 'log.txt'), level=logging.WARNING)
  return Trainer(args, logger, config.as_dict(args, constants.ARCHITECTURE_KEYS),
                 config.as_dict(args))


def relative(a, b):
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-30))


def float64_gradients(task, strategy):
  """The largest relative difference between one replica and two of the summed
  gradients of a float64 model on one batch (the math, without float32 rounding;
  MNIST: batch norm with the global batch's statistics)."""
  from multigrid_memory.mapping_localization.data import EpisodeStream
  from multigrid_memory.mapping_localization.model import LocalizationModel, localization_loss
  from multigrid_memory.mnist_recall.model import MNISTRecallModel, recall_loss
  batch, rng = 4, np.random.default_rng(5)
  if task == 'mapping':
    make = lambda: LocalizationModel(seed=0, dtype=tf.float64)
    chunk = EpisodeStream(batch, 2, np.random.RandomState(5), random.Random(5), map_size=5,
                          generic_map_size=10).next_chunk()
    arrays, time_major = [chunk.inputs, chunk.queries, chunk.targets], (0, 1, 2)
    loss_of = lambda m, x, q, t: localization_loss(m(x, q, m.initial_state(x.shape[0] // 2))[0], t)
  else:
    make = lambda: MNISTRecallModel(batch, 3, seed=0, dtype=tf.float64)
    images = rng.integers(0, 256, size=(3 * batch, 28, 28, 1))
    arrays, time_major = [images, images[batch:2 * batch], rng.integers(0, 10, batch)], (0,)
    loss_of = lambda m, x, q, t: recall_loss(m(x, q), t)
  arrays = [a.astype(np.float64) if i < 2 or a.dtype.kind == 'f' else a
            for i, a in enumerate(arrays)]
  one = make()
  with strategy.scope():
    two = make()

  def gradients(model, x, q, t):
    with tf.GradientTape() as tape:
      loss = loss_of(model, x, q, t)
    return tape.gradient(loss, model.trainable_variables)

  expected = tf.function(gradients)(one, *[tf.constant(a) for a in arrays])
  parts = distribute.split_batch(strategy, arrays, batch, time_major=time_major)
  got = tf.function(lambda *p: distribute.sum_over_replicas(
      strategy, strategy.run(lambda *q: gradients(two, *q), args=p)))(*parts)
  return max(relative(a.numpy(), b.numpy()) for a, b in zip(expected, got))


def main(task, root, steps):
  """The trainers' float32 steps compared (`steps` updates), one JSON line."""
  lr = tf.constant(1e-3)
  if task == 'mapping':
    flags = ['--batch_size=4', '--local_t_max=2', '--map_size=5', '--generic_map_size=10']
  else:
    flags = ['--batch_size=4', '--local_t_max=2']
  single, mirrored = build(task, root, 'none', flags), build(task, root, 'mirrored', flags)
  result = {'task': task, 'replicas': distribute.replicas(mirrored.strategy), 'loss': [],
            'updates': [], 'memory': []}
  for _ in range(steps):
    before = [[v.numpy() for v in t.variables] for t in (single, mirrored)]
    if task == 'mapping':
      chunk = single.stream.next_chunk()
      assert all(np.array_equal(a, b) for a, b in zip(chunk[:3], mirrored.stream.next_chunk()[:3]))
      losses = []
      for trainer in (single, mirrored):
        if chunk.first:
          trainer.state = trainer._zero_state()
        loss, trainer.state = trainer.train_step(*trainer._tensors(chunk), lr, trainer.state)
        losses.append(float(loss))
      states = [distribute.gather_batch(t.strategy, t.state) for t in (single, mirrored)]
      result['memory'].append(max(relative(a, b) for a, b in zip(tf.nest.flatten(states[0]),
                                                                   tf.nest.flatten(states[1]))))
    else:
      batch = single.train_data.next_batch()
      mirrored.train_data.next_batch()
      losses = [float(t.train_step(*t._tensors(batch), lr)) for t in (single, mirrored)]
    result['loss'].append(relative(losses[0], losses[1]))
    # The updates themselves (after - before), as the weights barely move in one step,
    # against the largest update of any tensor (batch norm makes some tensors' gradients
    # tiny and all rounding).
    updates = [(a.numpy() - a0, b.numpy() - b0) for a, b, a0, b0 in
               zip(single.variables, mirrored.variables, before[0], before[1])]
    scale = max(np.abs(a).max() for a, _ in updates)
    result["updates"].append(float(max(np.abs(a - b).max() for a, b in updates) / scale))
  print(json.dumps(result), flush=True)


if __name__ == '__main__':
  # argv: <root> then checks: 'mapping:<steps>' / 'mnist:<steps>' (the trainers, float32;
  # mnist reads MNIST_DIR) or 'mapping64' / 'mnist64' (float64 gradients of the models).
  for check in sys.argv[2:]:
    if check == 'split':   # replica r holds elements [r B / 2, (r + 1) B / 2) of each step
      strategy = distribute.make_strategy('mirrored')
      images = np.arange(3 * 4 * 2).reshape(12, 2)       # [T B, 2], T = 3, B = 4
      (parts,) = distribute.split_batch(strategy, [images], 4, time_major=(0,))
      local = [v.numpy().tolist() for v in strategy.experimental_local_results(parts)]
      state = distribute.split_structure(strategy, {'h': tf.constant(images[:4])}, 4)
      gathered = distribute.gather_batch(strategy, state)['h'].numpy().tolist()
      print(json.dumps({'task': 'split', 'local': local, 'gathered': gathered}), flush=True)
    elif check.endswith('64'):
      strategy = distribute.make_strategy('mirrored')
      print(json.dumps({'task': check[:-2], 'float64_gradients': float64_gradients(
          check[:-2], strategy)}), flush=True)
    else:
      name, steps = check.split(':')
      main(name, os.path.join(sys.argv[1], name), int(steps))

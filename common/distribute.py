"""Training across devices with `tf.distribute`, for the multigrid tasks.

`make_strategy(kind)`: 'none' (TensorFlow's default strategy: one device; the same
code path, so a single-device run is what it always was), 'mirrored' (one replica
per local GPU, or per logical CPU device when there is no GPU: see
`runtime.start_tensorflow(cpu_devices=...)`), 'multi_worker'
(`MultiWorkerMirroredStrategy`: the workers are named by the TF_CONFIG
environment variable, each with its local devices; without TF_CONFIG it is one
worker).

The global batch is split across replicas in order: replica r of R takes batch
elements [r B / R, (r + 1) B / R) (`split_batch`), so gathering the replicas'
results in replica order (`gather_batch`) gives back the global batch. The
training steps sum the replicas' summed losses and gradients
(`strategy.reduce(SUM)`), then clip and apply the update once, in cross-replica
context: exactly the single-device step on the same global batch, up to the
order of the floating-point additions.
"""
import numpy as np
import tensorflow as tf

KINDS = ('none', 'mirrored', 'multi_worker')


class DistributeError(ValueError):
  """Settings that do not fit the devices (a batch that does not split evenly)."""


_CREATED = {}


def make_strategy(kind):
  """The `tf.distribute.Strategy` of DISTRIBUTE = `kind`, made once per process
  (`runtime.start_tensorflow(strategy=kind)` makes it before TensorFlow's first op,
  as MultiWorkerMirroredStrategy requires)."""
  if kind not in _CREATED:
    _CREATED[kind] = _new_strategy(kind)
  return _CREATED[kind]


def _new_strategy(kind):
  if kind == 'none':
    return tf.distribute.get_strategy()
  if kind == 'mirrored':
    gpus = tf.config.list_logical_devices('GPU')
    devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices('CPU')]
    return tf.distribute.MirroredStrategy(devices)
  if kind == 'multi_worker':
    return tf.distribute.MultiWorkerMirroredStrategy()
  raise ValueError(f'distribute={kind!r}: use one of {", ".join(KINDS)}')


def replicas(strategy):
  return strategy.num_replicas_in_sync


def check_batch(strategy, batch_size, name='--batch_size'):
  """Raises DistributeError unless the global batch splits evenly across the replicas."""
  count = replicas(strategy)
  if batch_size % count:
    raise DistributeError(f'{name}={batch_size} does not split evenly across {count} replicas; use '
                     f'a multiple of {count}')


def split_batch(strategy, arrays, batch_size, time_major=()):
  """Distributes numpy arrays whose batch axis holds `batch_size` elements.

  Args:
    arrays: a list of arrays; `time_major` lists the indices of those laid out
      `[T B, ...]` (row t B + b), the others are `[B, ...]`.
  Returns:
    a list of distributed values (plain tensors for one replica).
  """
  count = replicas(strategy)
  share = batch_size // count

  def part(array, index, replica):
    if index in time_major:
      steps = array.shape[0] // batch_size
      shaped = array.reshape((steps, batch_size) + array.shape[1:])
      return shaped[:, replica * share:(replica + 1) * share].reshape(
          (steps * share,) + array.shape[1:])
    return array[replica * share:(replica + 1) * share]

  if count == 1:
    return [tf.constant(array) for array in arrays]
  out = []
  for index, array in enumerate(arrays):
    out.append(strategy.experimental_distribute_values_from_function(
        lambda context, a=np.asarray(array), i=index: tf.constant(
            part(a, i, context.replica_id_in_sync_group))))
  return out


def split_structure(strategy, structure, batch_size):
  """Distributes a nest of `[B, ...]` tensors (e.g. a model state) by batch."""
  if replicas(strategy) == 1:
    return structure
  share = batch_size // replicas(strategy)
  return strategy.experimental_distribute_values_from_function(
      lambda context: tf.nest.map_structure(
          lambda t: t[context.replica_id_in_sync_group * share:
                      (context.replica_id_in_sync_group + 1) * share], structure))


def gather_batch(strategy, values):
  """A nest of per-replica `[B / R, ...]` values back as global `[B, ...]` tensors."""
  if replicas(strategy) == 1:
    return values
  # One gather per tensor: `strategy.gather` of a whole nest returned one replica's
  # share here (TF 2.21), which the split check in tests/distribute_check.py catches.
  return tf.nest.map_structure(lambda v: strategy.gather(v, axis=0), values)


def sum_over_replicas(strategy, values):
  """A nest of per-replica values summed over the replicas (cross-replica context)."""
  return tf.nest.map_structure(
      lambda v: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None), values)


def worker_directory(strategy, directory):
  """Where this worker keeps its checkpoints and log: `directory` for the chief (and
  single-worker runs), `directory/worker<i>` for the other workers, whose copies are
  the same but must not overwrite the chief's."""
  if is_chief(strategy):
    return directory
  import os
  return os.path.join(directory, f'worker{strategy.cluster_resolver.task_id}')


def is_chief(strategy):
  """True unless this is a non-chief worker of a multi-worker run (which saves its
  checkpoints into a scratch folder and writes no logs or figures)."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return True
  task = resolver.task_type
  return task == 'chief' or (task == 'worker' and resolver.task_id == 0 and
                             'chief' not in resolver.cluster_spec().as_dict())

"""Training chunks for mapping & localization (trihuynh88/multigrid_mem
`training_thread.py`'s sample loop; multigrid_memory spec 4.1).

An episode: new mazes, the agent at the centre, the past-observation list empty,
then the spiral until the walk ends (529 steps for MAP_SIZE 25), cut into chunks
of `chunk_len` steps (LOCAL_T_MAX = 20: 26 x 20 + 9). At each step t:
  1. the observation o_t at the current position;
  2. the move (the pattern memory marks the new position p_{t+1});
  3. o_t joins the writer input, and o_t without its location channels joins the
     episode's past observations;
  4. one index k ~ randint(0, t) over all the episode's past observations, drawn
     once for the whole batch (Python's `random`, as the original);
  5. query = past observation k; target = the pattern memory's map of its pattern.
Because the move comes before the target is read, a target can also mark
p_{t+1}, not yet observed (the original's next-position leak); `leak=False`
reads the target before the move.

Shapes: `T` chunk steps, `B` batch; sequences are time-major `[T B, ...]` (row
t B + b).
"""
import collections
import random

import numpy as np

from multigrid_memory.mapping_localization.map_env import MapEnv, remove_loc

# One chunk: inputs `[T B, S, S, 4]` (the observations), queries `[T B, S, S, 4]`,
# targets `[T B, 2304]` float32, first (True: the chunk starts an episode, so the
# memory starts from zeros), query_indices `[T]` (the k of each step).
Chunk = collections.namedtuple('Chunk', ('inputs', 'queries', 'targets', 'first', 'query_indices'))


class EpisodeStream:
  """Args:
    batch_size: B; chunk_len: LOCAL_T_MAX.
    numpy_rng: `np.random.RandomState` for the mazes; python_rng: `random.Random`
      for the query indices (checkpoint both with `state()`).
    leak: True (the original): targets read after the move.
    env_options: MapEnv's keyword arguments (map_size, complexity, density,
      blank, input_size, memory_size) and generic_map_size.
  """

  def __init__(self, batch_size, chunk_len, numpy_rng=None, python_rng=None, leak=True,
               generic_map_size=50, **env_options):
    if chunk_len < 1:
      raise ValueError(f'chunk_len={chunk_len} must be >= 1')
    self.batch_size, self.chunk_len, self.leak = batch_size, chunk_len, leak
    self.numpy_rng = numpy_rng if numpy_rng is not None else np.random.RandomState()
    self.python_rng = python_rng if python_rng is not None else random.Random()
    self.env = MapEnv(batch_size, generic_map_size, self.numpy_rng, **env_options)
    self.episode_end = True           # the first chunk starts an episode
    self.episodes = 0                 # episodes started
    self.steps_done = 0               # steps taken in the current episode
    self.past = []                    # the episode's location-free observations, [B, S, S, 4] each
    self._episode_rng_state = None

  def _start_episode(self):
    self._episode_rng_state = self.numpy_rng.get_state()
    self.env.reset_agent_pos()
    self.past, self.steps_done, self.episode_end = [], 0, False
    self.episodes += 1

  def _step(self, draw_query=True):
    """One step of the sample loop; returns (o_t, query, target, k), or nothing
    when `draw_query` is False (an episode replayed on restore)."""
    env = self.env
    observation = env.observation()
    self.past.append(remove_loc(observation))
    if self.leak:                     # the original: move, then read the target
      self.episode_end = env.move_spiral()
    sample = None
    if draw_query:
      k = self.python_rng.randint(0, len(self.past) - 1)
      sample = (observation, self.past[k], env.get_loc_output(self.past[k]), k)
    if not self.leak:
      self.episode_end = env.move_spiral()
    self.steps_done += 1
    return sample

  def next_chunk(self):
    """The next `Chunk`: up to `chunk_len` steps, fewer at an episode's end."""
    first = self.episode_end
    if first:
      self._start_episode()
    rows = []
    while not self.episode_end and len(rows) < self.chunk_len:
      rows.append(self._step())
    stack = lambda i: np.concatenate([row[i] for row in rows], axis=0)
    return Chunk(stack(0), stack(1), stack(2), first, np.array([row[3] for row in rows]))

  # -- checkpoints ------------------------------------------------------------
  def state(self):
    """What a checkpoint must hold to continue the same stream (JSON-friendly):
    the maze RNG as it was when the episode in progress started and the steps
    taken in it (the episode is replayed on restore, no query drawn), and the
    query RNG as it is now."""
    version, internal, gauss = self.python_rng.getstate()
    return {'episode_end': bool(self.episode_end), 'episodes': int(self.episodes),
            'steps_done': int(self.steps_done),
            'episode_rng': _numpy_state(self._episode_rng_state or self.numpy_rng.get_state()),
            'numpy_rng': _numpy_state(self.numpy_rng.get_state()),
            'python_rng': [version, list(internal), gauss]}

  def set_state(self, state):
    if not state['episode_end'] or state['steps_done']:
      self.numpy_rng.set_state(_numpy_state_back(state['episode_rng']))
      self._start_episode()
      for _ in range(state['steps_done']):
        self._step(draw_query=False)
      self.episode_end = bool(state['episode_end'])
    self.episodes = int(state['episodes'])
    self.numpy_rng.set_state(_numpy_state_back(state['numpy_rng']))
    version, internal, gauss = state['python_rng']
    self.python_rng.setstate((version, tuple(internal), gauss))


def _numpy_state(state):
  name, keys, pos, has_gauss, cached = state
  return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _numpy_state_back(state):
  name, keys, pos, has_gauss, cached = state
  return (name, np.array(keys, np.uint32), pos, has_gauss, cached)

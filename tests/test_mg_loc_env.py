"""multigrid_memory/mapping_localization/map_env.py and data.py: the maze recipe and its
statistics, the spiral (first moves, 529 cells), observations, the pattern memory and
targets (with and without the next-position leak), chunking, and the stream's state."""
import random

import numpy as np
import pytest

from multigrid_memory.mapping_localization import map_env as me
from multigrid_memory.mapping_localization.data import EpisodeStream


def test_maze_border_walls_and_statistics():
  rng = np.random.RandomState(0)
  mazes = [me.maze(25, 25, 0.05, 0.2, rng) for _ in range(50)]
  for grid in mazes:
    assert grid.shape == (25, 25) and set(np.unique(grid)) <= {me.FREE, me.WALL}
    assert (grid[0] == me.WALL).all() and (grid[-1] == me.WALL).all()
    assert (grid[:, 0] == me.WALL).all() and (grid[:, -1] == me.WALL).all()
    rows, cols = np.nonzero(grid[1:-1, 1:-1] == me.WALL)
    # The walks wall even cells and the cells between two of them: never (odd, odd).
    assert not ((rows + 1) % 2 & (cols + 1) % 2).any()
  assert 0.40 < np.mean([(g == me.WALL).mean() for g in mazes]) < 0.50   # spec: ~45%
  again = me.maze(25, 25, 0.05, 0.2, np.random.RandomState(0))
  np.testing.assert_array_equal(again, mazes[0])
  assert (me.blank_map(5)[1:-1, 1:-1] == me.FREE).all()


def test_spiral_first_moves_and_coverage():
  positions = me.spiral_positions(25)
  assert positions[:8].tolist() == [[12, 12], [12, 13], [13, 13], [13, 12], [13, 11], [12, 11],
                                    [11, 11], [11, 12]]
  assert len(positions) == 529 and len({tuple(p) for p in positions}) == 529
  assert positions.min() == 1 and positions.max() == 23
  assert me.spiral_move(*positions[-1], 25) is None
  assert (np.abs(np.diff(positions, axis=0)).sum(1) == 1).all()      # one cell per move


def test_observations_and_pattern_memory():
  env = me.MapEnv(3, 50, np.random.RandomState(1))
  env.reset_agent_pos()
  first = env.observation()
  assert first.shape == (3, 3, 3, 4) and first.dtype == np.float32
  np.testing.assert_array_equal(first[..., 1], env.init_map[:, 11:14, 11:14] == me.WALL)
  np.testing.assert_array_equal(first[..., 0] + first[..., 1], np.ones((3, 3, 3)))
  assert (first[..., 2] == 25).all() and (first[..., 3] == 25).all()   # generic start
  start = env.get_loc_output(me.remove_loc(first))
  assert start.shape == (3, 2304) and (start.sum(1) >= 1).all()
  assert (start[:, 25 * 48 + 25] == 1).all()
  assert not env.move_spiral()
  second = env.observation()
  assert (second[..., 2] == 25).all() and (second[..., 3] == 26).all()
  for b in range(3):   # every position marked under its own window's pattern
    for key, seen in env.pattern_loc[b].items():
      for r, c in zip(*np.nonzero(seen)):
        window = env.init_map[b, r - 14:r - 11, c - 14:c - 11]
        assert me.pattern_key(window) == key
  assert env.maps[0, 12, 13] in (me.VISITED, me.WALL) and (env.maps[:, 0, 0] == me.UNKNOWN).all()


@pytest.mark.parametrize('leak', [True, False])
def test_chunks_queries_and_targets(leak):
  stream = EpisodeStream(4, 20, np.random.RandomState(2), random.Random(2), leak=leak)
  chunks = [stream.next_chunk() for _ in range(27)]
  assert [len(c.inputs) // 4 for c in chunks] == [20] * 26 + [9]
  assert [c.first for c in chunks] == [True] + [False] * 26 and stream.episode_end
  positions = me.spiral_positions(25)
  t0, leaked = 0, 0
  for chunk in chunks:
    steps = len(chunk.query_indices)
    for t in range(steps):
      episode_t, k = t0 + t, chunk.query_indices[t]
      assert 0 <= k <= episode_t
      rows = slice(t * 4, (t + 1) * 4)
      np.testing.assert_array_equal(chunk.queries[rows], me.remove_loc(
          chunks[k // 20].inputs[(k % 20) * 4:(k % 20 + 1) * 4]))
      target = chunk.targets[rows].reshape(4, 48, 48)
      assert (target.sum((1, 2)) >= 1).all()
      seen = {tuple(p + 13) for p in positions[:episode_t + 1]}
      marked = {tuple(p) for b in range(4) for p in zip(*np.nonzero(target[b]))}
      following = ({tuple(positions[episode_t + 1] + 13)} if episode_t + 1 < len(positions)
                   else set())
      leaked += bool(marked & following - seen)
      assert marked - seen <= (following if leak else set())
    t0 += steps
  assert (leaked > 0) == leak     # the leak happens, and only with the switch on
  following = stream.next_chunk()
  assert following.first and not np.array_equal(stream.env.init_map[0], chunks[0].inputs[0])


def test_statistics_of_patterns_and_targets():
  stream = EpisodeStream(16, 20, np.random.RandomState(3), random.Random(3))
  targets = np.concatenate([stream.next_chunk().targets for _ in range(27)])
  patterns = [len(memory) for memory in stream.env.pattern_loc]
  assert 95 <= np.mean(patterns) <= 120                       # spec: ~109 (99-115)
  positives = targets.sum(1)
  assert 5 <= positives.mean() <= 11 and 2 <= np.median(positives) <= 5   # spec: 7.7, median 3


def test_restored_stream_continues_the_same_chunks():
  def stream():
    return EpisodeStream(3, 7, np.random.RandomState(4), random.Random(4), map_size=9)
  straight = stream()
  chunks = [straight.next_chunk() for _ in range(15)]   # 49 steps per episode: 7 chunks
  for cut in (0, 3, 7, 10):
    first = stream()
    for _ in range(cut):
      first.next_chunk()
    resumed = stream()
    resumed.numpy_rng.seed(99)                          # the restore must not depend on these
    resumed.python_rng.seed(99)
    resumed.set_state(first.state())
    for expected in chunks[cut:cut + 5]:
      got = resumed.next_chunk()
      for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)


def test_bad_chunk_length():
  with pytest.raises(ValueError, match='chunk_len=0 must be >= 1'):
    EpisodeStream(2, 0)


def test_targets_on_a_reduced_models_grid():
  """memory_size=12 (GRIDS=3): the same targets, on the 12 x 12 grid that a 7 x 7 world's
  generic coordinates (5..9 with GENERIC_MAP_SIZE 14) fit into."""
  options = dict(map_size=7, generic_map_size=14)
  full = EpisodeStream(2, 25, np.random.RandomState(5), random.Random(5), **options).next_chunk()
  small = EpisodeStream(2, 25, np.random.RandomState(5), random.Random(5), memory_size=12,
                        **options).next_chunk()
  assert full.targets.shape == (50, 2304) and small.targets.shape == (50, 144)
  np.testing.assert_array_equal(full.targets.reshape(50, 48, 48)[:, :12, :12],
                                small.targets.reshape(50, 12, 12))
  assert full.targets.sum() == small.targets.sum() > 0

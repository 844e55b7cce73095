"""The mapping & localization world (trihuynh88/multigrid_mem `map_env.py`;
multigrid_memory spec 4.1).

One MAP_SIZE x MAP_SIZE maze per batch element, walled at the border. The agent
walks a clockwise square spiral from the centre that ignores walls and is the
same for every element (529 steps over the 23 x 23 interior for MAP_SIZE 25).
It sees the true INPUT_SIZE x INPUT_SIZE window around itself. "Generic"
coordinates put the start at (GENERIC_MAP_SIZE / 2, GENERIC_MAP_SIZE / 2): they
index the model's 48 x 48 output. `pattern_loc[b]` maps every 3 x 3 wall pattern
seen so far to the 48 x 48 binary map of the generic positions where it was
seen: the localisation target of a query showing that pattern.

Cell codes as the original: 0 free, 1 wall, 2 visited, 3 unknown, 4 agent (the
last three for display only). Mazes come from a `numpy.random.RandomState`
(the original draws from numpy's global one, unseeded).
"""
import numpy as np

FREE, WALL, VISITED, UNKNOWN, AGENT = 0, 1, 2, 3, 4
MEMORY_SIZE = 48                 # the model's output grid, fixed by its architecture (a reduced
                                 # model's is smaller: `memory_size`)


def maze(width, height, complexity, density, rng):
  """The original's random maze (the common "random maze" recipe): a walled border,
  then `density'` random walks of `complexity'` steps that wall every second cell.

  Args:
    width, height: the world's size (made odd: 25 stays 25).
    complexity, density: MAP_COMPLEXITY, MAP_DENSITY (0.05 and 0.2 give 12 steps
      per walk and 28 walks for 25 x 25).
    rng: a `numpy.random.RandomState` (draws as numpy's `random_integers`).
  Returns:
    `[H, W]` int array of FREE / WALL.
  """
  shape = ((height // 2) * 2 + 1, (width // 2) * 2 + 1)
  steps = int(complexity * (5 * (shape[0] + shape[1])))
  walks = int(density * ((shape[0] // 2) * (shape[1] // 2)))
  grid = np.full(shape, FREE, dtype=np.int64)
  grid[0, :] = grid[-1, :] = WALL
  grid[:, 0] = grid[:, -1] = WALL
  for _ in range(walks):
    # random_integers(0, n) is randint(0, n + 1): both ends included.
    x, y = rng.randint(0, shape[1] // 2 + 1) * 2, rng.randint(0, shape[0] // 2 + 1) * 2
    grid[y, x] = WALL
    for _ in range(steps):
      neighbours = []
      if x > 1:
        neighbours.append((y, x - 2))
      if x < shape[1] - 2:
        neighbours.append((y, x + 2))
      if y > 1:
        neighbours.append((y - 2, x))
      if y < shape[0] - 2:
        neighbours.append((y + 2, x))
      if neighbours:
        ny, nx = neighbours[rng.randint(0, len(neighbours))]
        if grid[ny, nx] == FREE:
          grid[ny, nx] = WALL
          grid[ny + (y - ny) // 2, nx + (x - nx) // 2] = WALL
          x, y = nx, ny
  return grid


def blank_map(size):
  """An empty world with its 1-cell wall border (BLANK_MAP)."""
  grid = np.full((size, size), FREE, dtype=np.int64)
  grid[0, :] = grid[-1, :] = grid[:, 0] = grid[:, -1] = WALL
  return grid


def spiral_move(row, col, map_size):
  """The next cell of the clockwise spiral from the centre (the original's
  `move_spiral` rule, walls ignored), or None when it would leave rows and columns
  1 .. map_size - 2 (the episode ends)."""
  centre = map_size // 2
  d = col - centre
  if d >= 0:
    low, high = centre - d + 1, centre + d - 1
    step = (0, 1) if row < low else (1, 0) if row <= high else (0, -1)
  else:
    low, high = centre + d + 1, centre - d
    step = (0, 1) if row < low else (-1, 0) if row <= high else (0, -1)
  row, col = row + step[0], col + step[1]
  if not (1 <= row <= map_size - 2 and 1 <= col <= map_size - 2):
    return None
  return row, col


def spiral_positions(map_size):
  """Every position of one episode's walk, the start first: `[steps, 2]`
  (529 for map_size 25: the whole interior, each cell once)."""
  positions = [(map_size // 2, map_size // 2)]
  while (step := spiral_move(*positions[-1], map_size)) is not None:
    positions.append(step)
  return np.array(positions)


def pattern_key(window):
  """A hashable key of a 3 x 3 FREE / WALL window `[3, 3]`."""
  return np.asarray(window, dtype=np.uint8).tobytes()


class MapEnv:
  """B worlds and the agent's walk through them.

  Args:
    batch_size: B.
    generic_map_size: GENERIC_MAP_SIZE (the display map; its centre is the start
      in generic coordinates).
    rng: `numpy.random.RandomState` for the mazes.
    map_size, complexity, density, blank, input_size: MAP_SIZE, MAP_COMPLEXITY,
      MAP_DENSITY, BLANK_MAP, INPUT_SIZE.
    memory_size: the side of the target maps (the model's output grid).
  Call `reset_agent_pos()` to start an episode.
  """

  def __init__(self, batch_size, generic_map_size, rng, map_size=25, complexity=0.05,
               density=0.2, blank=False, input_size=3, memory_size=MEMORY_SIZE):
    self.batch_size, self.generic_map_size, self.rng = batch_size, generic_map_size, rng
    self.memory_size = memory_size
    self.map_size, self.complexity, self.density = map_size, complexity, density
    self.blank, self.input_size = blank, input_size
    self.radius = input_size // 2

  # -- an episode -------------------------------------------------------------
  def reset_agent_pos(self):
    """New worlds (one maze per element), the agent at the centre, the explored
    maps unknown but for the first window, the pattern memory holding the start."""
    size, b = self.map_size, self.batch_size
    self.init_map = np.stack([blank_map(size) if self.blank else
                              maze(size, size, self.complexity, self.density, self.rng)
                              for _ in range(b)])
    self.maps = np.full((b, size, size), UNKNOWN, dtype=np.int64)
    self.generic_maps = np.full((b, self.generic_map_size, self.generic_map_size), UNKNOWN,
                                dtype=np.int64)
    self.agent_pos = np.full((b, 2), size // 2, dtype=np.int64)
    self.generic_pos = np.full((b, 2), self.generic_map_size // 2, dtype=np.int64)
    self.pattern_loc = [{} for _ in range(b)]
    self._reveal()

  def move_spiral(self):
    """One step of the spiral for every element. Returns True when the move is
    refused (the walk has covered the interior: the episode ends), else False
    after marking the new position in the pattern memory under its window."""
    step = spiral_move(*self.agent_pos[0], self.map_size)
    if step is None:
      return True
    delta = np.array(step) - self.agent_pos[0]
    self.agent_pos[:] = step
    self.generic_pos += delta
    self._reveal()
    return False

  def _window(self, grid, centre):
    r, c = centre
    return grid[..., r - self.radius:r + self.radius + 1, c - self.radius:c + self.radius + 1]

  def _reveal(self):
    """Reveals the agent's window in the explored map, marks its cell visited,
    copies the window into the generic map, and marks the generic position under
    the window's pattern."""
    rows = np.arange(self.batch_size)
    r, c = self.agent_pos[0]
    gr, gc = self.generic_pos[0]
    seen = self._window(self.maps, (r, c))
    seen[:] = np.where(seen == UNKNOWN, self._window(self.init_map, (r, c)), seen)
    cell = self.maps[rows, r, c]
    self.maps[rows, r, c] = np.where(cell == FREE, VISITED, cell)
    self._window(self.generic_maps, (gr, gc))[:] = seen
    for b, window in enumerate(self._window(self.init_map, (r, c))):
      key = pattern_key(window)
      if key not in self.pattern_loc[b]:
        self.pattern_loc[b][key] = np.zeros((self.memory_size,) * 2, dtype=np.int64)
      self.pattern_loc[b][key][gr, gc] = 1

  # -- what the model sees ----------------------------------------------------
  def get_input_ego(self):
    """The true window around the agent, `[B, INPUT_SIZE, INPUT_SIZE]` of FREE / WALL."""
    return self._window(self.init_map, self.agent_pos[0]).copy()

  def observation(self):
    """The writer's input at this step, `[B, S, S, 4]` float32: the window one-hot
    on channels 0 / 1, the generic row and column (raw integers) on 2 / 3."""
    return convert_maps(self.get_input_ego(), self.generic_pos)

  def get_loc_output(self, query):
    """The localisation target of queries `[B, S, S, 4]` (location-free
    observations): for each element, the 48 x 48 map of every generic position
    where its pattern has been seen, flattened row-major, `[B, 2304]` float32."""
    patterns = query[..., :2].argmax(-1)
    output = np.zeros((self.batch_size, self.memory_size ** 2), np.float32)
    for b, pattern in enumerate(patterns):
      seen = self.pattern_loc[b].get(pattern_key(pattern))
      if seen is not None:
        output[b] = seen.reshape(-1)
    return output


def convert_maps(windows, generic_pos):
  """Windows `[B, S, S]` of FREE / WALL and generic positions `[B, 2]` ->
  `[B, S, S, 4]` float32: one-hot on channels 0 / 1, row and column on 2 / 3."""
  b, s = windows.shape[0], windows.shape[1]
  out = np.zeros((b, s, s, 4), np.float32)
  out[..., 0] = windows == FREE
  out[..., 1] = windows == WALL
  out[..., 2] = generic_pos[:, 0, None, None]
  out[..., 3] = generic_pos[:, 1, None, None]
  return out


def remove_loc(observation):
  """The query form of an observation: location channels 2 and 3 set to 0."""
  out = observation.copy()
  out[..., 2:] = 0
  return out

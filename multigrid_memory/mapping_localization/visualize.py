"""The mapping & localization figures (trihuynh88/multigrid_mem `vis_save`;
multigrid_memory spec 5.4), as PNG frames and one GIF per batch element.

As the original: one fresh episode (new mazes, zero memory) run one step at a
time, the query at each step being the current observation and its target read
before the move; for elements 0 .. NUM_VIS_ENVS - 1, each step's frame shows the
explored map, the same in generic coordinates, the current observation, the
predicted probability map (divided by its maximum), the prediction thresholded
at 0.5 and the target, and below them the LSTM panel of the five W7 grids (the
mean and variance over channels of c and h). Colours as the original's: unknown
black, wall blue, free white, visited light blue, agent red, background grey.
Unlike it, the panel has colour scales fixed over the episode with colour bars
(VIS_UINT8_WRAP draws its grey uint8 wrap-around), and every part has a title.

Files: `<dir>/EE_SSSS.png` (element EE, step SSSS, as the original's JPEG names)
and `<dir>/EE.gif`, the episode at half size.
"""
import os

import cv2
import numpy as np
import tensorflow as tf

from common import visualize
from multigrid_memory import lstm_panel
from multigrid_memory.mapping_localization import map_env as me

CELL_PX = 10                                   # the original's scale factor
COLOURS = {-1: (128, 128, 128), me.UNKNOWN: (0, 0, 0), me.WALL: (255, 0, 0),
           me.FREE: (255, 255, 255), me.VISITED: (255, 128, 128), me.AGENT: (0, 0, 255)}  # BGR
def panel_cells(model):
  """The last writer layer's cells of `model` (W7_0 .. W7_4 for the original's)."""
  layers = model.writer_layers
  return [f'W{len(layers)}_{level}' for level in range(layers[-1][0])]


def map_image(grid, cell_px=CELL_PX):
  """A map of cell codes `[H, W]` (-1 = background) as a BGR image, `cell_px` per cell."""
  image = np.zeros(grid.shape + (3,), np.uint8)
  for code, colour in COLOURS.items():
    image[grid == code] = colour
  return visualize.upscale(image, cell_px)


def grey_image(values, cell_px=CELL_PX):
  """Values in [0, 1] `[H, W]` as a grey BGR image."""
  grey = (np.clip(values, 0, 1) * 255).astype(np.uint8)
  return visualize.upscale(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), cell_px)


def titled(title, image):
  """`image` in a thin grey frame (free cells are white, as the page) under `title`."""
  framed = cv2.copyMakeBorder(image, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=(128, 128, 128))
  return visualize.vstack([visualize.text_strip(title, framed.shape[1]), framed], gap=4)


def frame(record, element, step, statistics, value_scales, wrap=False, total=None):
  """One step's frame (BGR) of batch element `element`, from `run_episode`'s record."""
  explored = record['maps'][step][element].copy()
  generic = record['generic_maps'][step][element].copy()
  r, c = record['agent_pos'][step]
  gr, gc = record['generic_pos'][step]
  explored[r, c], generic[gr, gc] = me.AGENT, me.AGENT
  observation = record['observation'][step][element]
  window = np.where(observation[..., 1] > 0, me.WALL, me.FREE)
  side = record['memory_size']
  probability = record['prediction'][step][element].reshape(side, side)
  target = record['target'][step][element].reshape(side, side)
  peak = probability.max()
  top = visualize.hstack([
      titled('explored map', map_image(explored)),
      titled('generic map', map_image(generic)),
      titled('observation', map_image(window, 3 * CELL_PX)),
      titled(f'prediction / max ({peak:.3g})', grey_image(probability / peak if peak > 0
                                                           else probability)),
      titled('prediction >= 0.5', grey_image((probability >= 0.5).astype(float))),
      titled('target', grey_image(target))], gap=CELL_PX * 3)
  cells = list(statistics)
  panel = lstm_panel.panel(statistics, [cells], [cells[0].split('_')[0]], step,
                           value_scales, wrap=wrap)
  title = (f'element {element} | step {step}' + (f' of {total}' if total else '') +
           ' | query = this observation; the LSTM panel: mean and variance over channels of the '
           'W7 grids\' c and h')
  body = visualize.vstack([top, panel], gap=16)
  return visualize.vstack([visualize.text_strip(title, body.shape[1], visualize.LABEL_SCALE),
                           body], gap=8)


def run_episode(model, env, steps, forward):
  """Runs one episode step by step; returns the per-step record (maps, positions,
  observations, predictions, targets, and the W7 cells' c and h statistics).

  Args:
    model: a `LocalizationModel`; env: a `MapEnv` after `reset_agent_pos()`.
    steps: at most this many steps (0: the whole episode).
    forward: `(inputs, queries, state) -> (logits, final state)`, compiled.
  """
  state = model.initial_state(env.batch_size)
  record = {key: [] for key in ('maps', 'generic_maps', 'agent_pos', 'generic_pos', 'observation',
                                'prediction', 'target')}
  stats = {cell: [] for cell in panel_cells(model)}
  while True:
    observation = env.observation()
    query = me.remove_loc(observation)
    record['target'].append(env.get_loc_output(query))       # before the move, as the original
    for key in ('maps', 'generic_maps'):
      record[key].append(getattr(env, key).copy())
    record['agent_pos'].append(env.agent_pos[0].copy())
    record['generic_pos'].append(env.generic_pos[0].copy())
    record['observation'].append(observation)
    logits, state = forward(tf.constant(observation), tf.constant(query), state)
    record['prediction'].append(tf.sigmoid(logits).numpy())
    for cell in stats:
      cell_state = getattr(state, cell)
      c, h = cell_state.c.numpy().astype(np.float64), cell_state.h.numpy().astype(np.float64)
      stats[cell].append(np.stack([c.mean(-1), c.var(-1), h.mean(-1), h.var(-1)], axis=1))
    if env.move_spiral() or len(record['target']) == steps:
      break
  record['statistics'] = {cell: np.stack(values) for cell, values in stats.items()}  # [T, B, 4, S, S]
  record['memory_size'] = model.memory_size
  return record


def write_frames(directory, record, element, wrap=False, frame_ms=100):
  """PNG frames `EE_SSSS.png` and the GIF `EE.gif` of one element; returns the paths."""
  statistics = {cell: values[:, element] for cell, values in record['statistics'].items()}
  value_scales = lstm_panel.scales(statistics)
  steps = len(record['target'])
  paths, small = [], []
  for step in range(steps):
    image = frame(record, element, step, statistics, value_scales, wrap, total=steps)
    path = os.path.join(directory, f'{element:02d}_{step:04d}.png')
    image = visualize.save_png(path, image)
    paths.append(path)
    small.append(cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2),
                            interpolation=cv2.INTER_AREA))
  paths.append(visualize.animation(small, os.path.join(directory, f'{element:02d}.gif'),
                                   frame_ms=frame_ms))
  return paths


def write_episode(trainer, step, prefix=''):
  """The figures of `trainer`'s model at time `step` into `<CHECKPOINT_DIR>/<prefix><step>/`,
  from an episode of its own (mazes seeded by (SEED, step)), so figures never move the
  training stream. Returns the directory."""
  args = trainer.args
  env = me.MapEnv(args.NUM_VIS_ENVS, args.GENERIC_MAP_SIZE,
                  np.random.RandomState([args.SEED, 2, step]), map_size=args.MAP_SIZE,
                  complexity=args.MAP_COMPLEXITY, density=args.MAP_DENSITY, blank=args.BLANK_MAP,
                  input_size=args.INPUT_SIZE, memory_size=trainer.model.memory_size)
  env.reset_agent_pos()
  if not hasattr(trainer, 'step_forward'):
    trainer.step_forward = tf.function(trainer.model.__call__, jit_compile=args.JIT_COMPILE)
  record = run_episode(trainer.model, env, args.VIS_STEPS, trainer.step_forward)
  directory = visualize.step_dir(args.CHECKPOINT_DIR, step, prefix=prefix)
  for element in range(args.NUM_VIS_ENVS):
    write_frames(directory, record, element, wrap=args.VIS_UINT8_WRAP)
  return directory


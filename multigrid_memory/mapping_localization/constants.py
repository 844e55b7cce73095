"""Every setting of the mapping & localization port, named as in
trihuynh88/multigrid_mem's `mapping_localization/constants.py` (multigrid_memory
spec 5.1).

Edit this file, or override any UPPERCASE name on the command line as
`python main.py --lowercase_name=value`.
"""
MODE = 'train'                  # 'train' or 'test' (test: localisation on fresh episodes + figures)
SEED = 0                        # weights, mazes (numpy) and query indices (random)
CHECKPOINT_DIR = 'checkpoints_dir'  # checkpoints, log, TensorBoard events, figure folders
RESTART = False                 # train from step 0 even if CHECKPOINT_DIR holds checkpoints
                                # (they are moved aside, never deleted)

LOCAL_T_MAX = 20                # chunk length of truncated BPTT (an episode: 26 x 20 + 9 steps)
RMSP_ALPHA = 0.99               # RMSProp decay
RMSP_EPSILON = 0.1              # RMSProp epsilon, inside the square root (TF1's rule)
INITIAL_ALPHA = 1e-3            # learning rate at step 0, decaying linearly ...
END_ALPHA = 1e-4                # ... to this ...
END_DECAY_TIME = 1000000        # ... at this time step, then constant
MAX_TIME_STEP = 2000000         # training length in time steps (LOCAL_T_MAX per update)
GRAD_NORM_CLIP = 10000.0        # global-norm gradient clipping
SAVE_INTERVAL = 1000            # time steps between checkpoints
SAVE_VIS_INTERVAL = 1000000     # time steps between figure folders CHECKPOINT_DIR/<step>/ (0 = off)
LOG_INTERVAL = 1000             # time steps between loss / localisation lines and TensorBoard points
BATCH_SIZE = 32                 # mazes per batch (global: split across replicas)
MAP_SIZE = 25                   # world side (odd; the spiral covers its (MAP_SIZE - 2)^2 interior)
GENERIC_MAP_SIZE = 50           # the display map in generic coordinates (2 MAP_SIZE); its centre
                                # is the start
MAP_COMPLEXITY = 0.05           # maze recipe: steps per random walk
MAP_DENSITY = 0.2               # maze recipe: number of random walks
INPUT_SIZE = 3                  # observation / query side (the architecture needs 3)
BLANK_MAP = False               # empty worlds (border only) instead of mazes
GRIDS = 5                       # the memory's pyramid 3, 6, 12, 24, 48 (the original's); fewer
                                # (not in the original) keeps the coarsest: a reduced model
                                # whose output is 3 x 2^(GRIDS - 1) (12 x 12 for 3), for small maps

# The original's quirks (spec 8.15), kept by default; each switch is the fix.
NEXT_POSITION_LEAK = True       # True: as the original, the move comes before the target is read,
                                # so a target may mark the next, unseen position; False: read first
RESTART_RMSPROP_ON_RESUME = False  # True: as the original, which saves weights only, a resumed
                                # run starts RMSProp again (ms = 1); False: checkpoints hold the
                                # slots and a resumed run continues exactly
VIS_UINT8_WRAP = False          # True: the LSTM panel in the original's grey with uint8
                                # wrap-around; False: colour scales with colour bars

# Not in the original (it computes no metric and keeps no evaluation data).
EVAL_BATCH_SIZE = 4             # mazes of the fresh evaluation episode at each log (0 = none)
EVAL_THRESHOLD = 0.5            # a cell is predicted when its probability is >= this
NUM_VIS_ENVS = 2                # batch elements drawn step by step in each figure folder
VIS_STEPS = 0                   # steps of the visualised episode (0 = all of it, as the original)
MAX_KEEP_CHECKPOINTS = 5        # tf.train.Saver's default
SAVE_INTERVAL_MINUTES = 0.0     # also save once this many minutes passed since the last save

DISTRIBUTE = 'none'             # 'none', 'mirrored' (the local GPUs, or CPU devices) or
                                # 'multi_worker' (MultiWorkerMirroredStrategy; TF_CONFIG names the
                                # workers)
CPU_DEVICES = 0                 # split the CPU into this many logical devices (0 = don't): to try
                                # DISTRIBUTE='mirrored' on a machine without GPUs
JIT_COMPILE = False             # XLA for the training step
INTRA_OP_THREADS = 1            # TensorFlow intra-op threads (0 = TF's default; 1 is faster here:
                                # see the README's benchmark)
ONEDNN = True                   # oneDNN's CPU kernels (TF's default; faster for these convolutions)

CONSTRAINTS = {
    'MODE': ('train', 'test'), 'SEED': (0, 2 ** 32 - 1),
    'LOCAL_T_MAX': (1, 1000), 'RMSP_ALPHA': (0.0, 1.0), 'RMSP_EPSILON': (0.0, None),
    'INITIAL_ALPHA': (0.0, None), 'END_ALPHA': (0.0, None), 'END_DECAY_TIME': (1, None),
    'MAX_TIME_STEP': (0, None), 'GRAD_NORM_CLIP': (1e-12, None), 'SAVE_INTERVAL': (1, None),
    'SAVE_VIS_INTERVAL': (0, None), 'LOG_INTERVAL': (1, None), 'BATCH_SIZE': (1, 4096),
    'MAP_SIZE': (5, 49), 'GENERIC_MAP_SIZE': (5, 1000), 'MAP_COMPLEXITY': (0.0, 10.0),
    'MAP_DENSITY': (0.0, 10.0), 'INPUT_SIZE': (3, 3), 'GRIDS': (3, 5), 'EVAL_BATCH_SIZE': (0, 4096),
    'EVAL_THRESHOLD': (0.0, 1.0), 'NUM_VIS_ENVS': (0, 4096), 'VIS_STEPS': (0, None),
    'MAX_KEEP_CHECKPOINTS': (1, None), 'SAVE_INTERVAL_MINUTES': (0.0, None),
    'DISTRIBUTE': ('none', 'mirrored', 'multi_worker'), 'CPU_DEVICES': (0, 64),
    'INTRA_OP_THREADS': (0, 256),
}

APPLIES_ONLY = {name: ('MODE', ('train',)) for name in (
    'RESTART', 'RMSP_ALPHA', 'RMSP_EPSILON', 'INITIAL_ALPHA', 'END_ALPHA', 'END_DECAY_TIME',
    'MAX_TIME_STEP', 'GRAD_NORM_CLIP', 'SAVE_INTERVAL', 'SAVE_INTERVAL_MINUTES',
    'SAVE_VIS_INTERVAL', 'RESTART_RMSPROP_ON_RESUME')}

# Settings that define the model and the data stream; a checkpoint made with others is refused.
ARCHITECTURE_KEYS = ('SEED', 'LOCAL_T_MAX', 'BATCH_SIZE', 'MAP_SIZE', 'GENERIC_MAP_SIZE',
                     'MAP_COMPLEXITY', 'MAP_DENSITY', 'INPUT_SIZE', 'BLANK_MAP',
                     'NEXT_POSITION_LEAK', 'GRIDS')

def derive_defaults(values):
  """Checks the world fits the architecture (spec 5.1: the 3 x 2^k grids are fixed)."""
  from common.config import ConfigError
  size, generic = values['MAP_SIZE'], values['GENERIC_MAP_SIZE']
  output = 3 * 2 ** (values['GRIDS'] - 1)          # the model's output grid: 48 for 5 grids
  if size % 2 == 0:
    raise ConfigError(f'--map_size={size}: use an odd size (the maze recipe makes odd worlds)')
  reach = size // 2 - 1                          # the spiral's farthest step from the centre
  low, high = generic // 2 - reach - 1, generic // 2 + reach + 1    # its windows, generic
  if low < 0 or high >= min(generic, output):
    largest = {5: 31, 4: 15, 3: 7}[values['GRIDS']]
    raise ConfigError(
        f'--map_size={size} with --generic_map_size={generic}: the walk reaches generic '
        f'coordinates {low}..{high}, but the output map is {output} x {output} (--grids='
        f'{values["GRIDS"]}) and the display map {generic} x {generic}; use --map_size <= '
        f'{largest} with --generic_map_size=2 x map_size')


def estimate_memory(values):
  """The main memory consumer of training, {description: bytes} (within ~2x): the
  activations of one chunk kept for backprop, about 14.5 MB per (step, maze) (peak
  RSS 9.25 GB measured at BATCH_SIZE 32, LOCAL_T_MAX 20; the 48 x 48 grids dominate).
  An upper bound for GRIDS < 5 (1.8 GB measured with GRIDS 3 at BATCH_SIZE 8)."""
  b, t = values['BATCH_SIZE'], values['LOCAL_T_MAX']
  return {f'activations kept for backprop: --local_t_max={t} x --batch_size={b} x ~14.5 MB '
          '(measured)': t * b * 14.5e6}

"""Every setting of the MNIST associative recall port, named as in
trihuynh88/multigrid_mem's `mnist_recall/constants.py` (multigrid_memory spec 5.1).

Edit this file, or override any UPPERCASE name on the command line as
`python main.py --lowercase_name=value`.
"""
MODE = 'train'                  # 'train' or 'test' (test: accuracy on test-set batches)
SEED = 0                        # weights, data order (numpy) and query positions (random)
CHECKPOINT_DIR = 'checkpoints'  # checkpoints, log, TensorBoard events
RESTART = False                 # train from step 0 even if CHECKPOINT_DIR holds checkpoints
                                # (they are moved aside, never deleted)
MNIST_DIR = ''                  # '' = the MNIST_DIR environment variable, else ~/.cache/...
DOWNLOAD_MNIST = True           # fetch missing MNIST files from the public mirrors (sha256-checked)
VERIFY_MNIST = True             # check full-size MNIST files against the known sha256

LOCAL_T_MAX = 10                # sequence length T (digits per sequence)
BATCH_SIZE = 32                 # sequences per batch (the original's reshapes fix it at 32)
INPUT_SIZE = 28                 # image side (the pyramid is 3, 6, 12: fixed by the model)
RMSP_ALPHA = 0.99               # RMSProp decay
RMSP_EPSILON = 0.1              # RMSProp epsilon, inside the square root (TF1's rule)
INITIAL_ALPHA = 1e-3            # learning rate at step 0, decaying linearly ...
END_ALPHA = 1e-4                # ... to this ...
END_DECAY_TIME = 1000000        # ... at this time step, then constant
MAX_TIME_STEP = 2000000         # training length in time steps (10 per update)
GRAD_NORM_CLIP = 100000.0       # global-norm gradient clipping
SAVE_MODEL_INTERVAL = 20000     # time steps between checkpoints
LOG_INTERVAL = 1000             # time steps between loss / accuracy lines and TensorBoard points
SAVE_VIS_INTERVAL = 1000000     # time steps between figure folders CHECKPOINT_DIR/<step>/ (0 = off)
NUM_VIS = 4                     # test sequences drawn per figure folder (and in test mode)
NUM_VIS_MEMORY = 2              # of those, sequences also drawn as per-step memory panels + GIF
                                # (not original: its MNIST code draws no memory)
TEST_BATCHES = 4                # test-set batches measured at each log (not original: it has none)
MAX_KEEP_CHECKPOINTS = 5        # tf.train.Saver's default
SAVE_INTERVAL_MINUTES = 0.0     # also save once this many minutes passed since the last save

# The original's quirks (spec 8.15), kept by default; each switch is the fix.
SHUFFLE_FIRST_EPOCH = False     # True: permute before the first pass too (original: file order)
BN_MOVING_STATS = False         # True: batch norm keeps moving averages (decay 0.999) and test
                                # mode, test accuracy and figures use them (original: batch
                                # statistics always, its moving averages never updated)
RESTART_RMSPROP_ON_RESUME = False  # True: as the original, which saves weights only, a resumed
                                # run starts RMSProp again (ms = 1); False: checkpoints hold the
                                # slots and a resumed run continues exactly
VIS_UINT8_WRAP = False          # True: memory panels in the original's grey with uint8
                                # wrap-around; False: colour scales with colour bars

DISTRIBUTE = 'none'             # 'none', 'mirrored' (the local GPUs, or CPU devices) or
                                # 'multi_worker' (MultiWorkerMirroredStrategy; TF_CONFIG names the
                                # workers); batch norm uses the global batch's statistics
CPU_DEVICES = 0                 # split the CPU into this many logical devices (0 = don't): to try
                                # DISTRIBUTE='mirrored' on a machine without GPUs
JIT_COMPILE = False             # XLA for the training step (slower here: see the README)
INTRA_OP_THREADS = 1            # TensorFlow intra-op threads (0 = TF's default; 1 is faster on
                                # the 2-core machine: see the README's benchmark)
ONEDNN = True                   # oneDNN's CPU kernels (TF's default; 1.3x faster here than Eigen's)

CONSTRAINTS = {
    'MODE': ('train', 'test'), 'SEED': (0, 2 ** 32 - 1),
    'LOCAL_T_MAX': (2, 100), 'BATCH_SIZE': (1, 4096), 'INPUT_SIZE': (28, 28),
    'RMSP_ALPHA': (0.0, 1.0), 'RMSP_EPSILON': (0.0, None), 'INITIAL_ALPHA': (0.0, None),
    'END_ALPHA': (0.0, None), 'END_DECAY_TIME': (1, None), 'MAX_TIME_STEP': (0, None),
    'GRAD_NORM_CLIP': (1e-12, None), 'SAVE_MODEL_INTERVAL': (1, None), 'LOG_INTERVAL': (1, None),
    'TEST_BATCHES': (0, 10000), 'SAVE_VIS_INTERVAL': (0, None), 'NUM_VIS': (0, 4096),
    'NUM_VIS_MEMORY': (0, 4096), 'MAX_KEEP_CHECKPOINTS': (1, None),
    'SAVE_INTERVAL_MINUTES': (0.0, None), 'INTRA_OP_THREADS': (0, 256),
    'DISTRIBUTE': ('none', 'mirrored', 'multi_worker'), 'CPU_DEVICES': (0, 64),
}

APPLIES_ONLY = {name: ('MODE', ('train',)) for name in (
    'RESTART', 'RMSP_ALPHA', 'RMSP_EPSILON', 'INITIAL_ALPHA', 'END_ALPHA', 'END_DECAY_TIME',
    'MAX_TIME_STEP', 'GRAD_NORM_CLIP', 'SAVE_MODEL_INTERVAL', 'SAVE_INTERVAL_MINUTES',
    'SAVE_VIS_INTERVAL', 'RESTART_RMSPROP_ON_RESUME')}

# Settings that define the model and data stream; a checkpoint made with others is refused.
ARCHITECTURE_KEYS = ('SEED', 'LOCAL_T_MAX', 'BATCH_SIZE', 'INPUT_SIZE', 'SHUFFLE_FIRST_EPOCH',
                     'BN_MOVING_STATS')


def estimate_memory(values):
  """The main memory consumers of training, {description: bytes} (within ~2x): MNIST
  held whole, and the unrolled writer's activations kept for backprop (15 cells x T
  steps x B x (3^2 + 6^2 + 12^2) cells x ~12 floats of gates, states and inputs)."""
  b, t = values['BATCH_SIZE'], values['LOCAL_T_MAX']
  return {
      'MNIST: 70000 x 28 x 28 bytes x 2 (file and arrays)': 70000 * 28 * 28 * 2,
      f'writer activations: 5 layers x --local_t_max={t} x --batch_size={b} x 189 grid '
      'cells x ~16 channels x 12 floats x 4 bytes': 5 * t * b * 189 * 16 * 12 * 4,
  }

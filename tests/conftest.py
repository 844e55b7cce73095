"""Test-session setup: quiet TensorFlow logging and deterministic CPU math.

These must be set before TensorFlow is first imported.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

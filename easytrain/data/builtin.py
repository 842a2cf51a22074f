"""scikit-learn's bundled real data sets: they ship with the package, so they work offline."""

from __future__ import annotations

import numpy as np
from sklearn import datasets

from easytrain.config.data import BuiltinData
from easytrain.data.raw import RawData

_LOADERS = {
    "digits": datasets.load_digits,
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
}


def load(config: BuiltinData) -> RawData:
    bunch = _LOADERS[config.name]()
    x = np.asarray(bunch.data, dtype=np.float32)
    if config.name == "digits":
        x = x.reshape(-1, 1, 8, 8)  # images: (channels, height, width)
    if config.name == "diabetes":
        return RawData(
            x,
            np.asarray(bunch.target, dtype=np.float32),
            "regression",
            feature_names=list(bunch.feature_names),
            description="sklearn diabetes",
        )
    names = [str(n) for n in getattr(bunch, "target_names", range(int(bunch.target.max()) + 1))]
    features = None if config.name == "digits" else list(bunch.feature_names)
    return RawData(
        x,
        np.asarray(bunch.target, dtype=np.int64),
        "classification",
        classes=names,
        feature_names=features,
        description=f"sklearn {config.name}",
    )

"""Cost engine: price catalog, per-resource cost mappers, estimator, report, artefacts."""

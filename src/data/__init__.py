"""Data: readers (MJSynth folder, benchmarks, rendered words), transforms and the batching pipeline."""

"""interleaf pipeline: framework (config, stages, stats, runner) and the stages themselves."""

__version__ = "0.1.0"

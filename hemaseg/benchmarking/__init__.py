"""The benchmark behind ``tools/benchmark.py``: framework-free parts (plain Python and PyTorch).

* :mod:`~hemaseg.benchmarking.models`: the table of benchmarked models (config, input size,
  baseline) of each task, in one place;
* :mod:`~hemaseg.benchmarking.timing`: the interleaved schedule, timing on a host clock or device
  events, medians / IQRs, ratios of medians, paired ratios and the repeat check;
* :mod:`~hemaseg.benchmarking.bench`: :class:`~hemaseg.benchmarking.bench.Bench` (one model ready
  to time), synthetic inputs, the segmentation loss, and parameters / GMACs / peak memory;
* :mod:`~hemaseg.benchmarking.report`: the markdown tables, notes and report header;
* :mod:`~hemaseg.benchmarking.run`: one whole benchmark run as the tool's command line asks for it.

The models themselves are built by the framework adapters (``mmseg_plugins.benchmark``,
``mmdet_plugins.benchmark``, ``mmpretrain_plugins.benchmark``, ``mmengine_plugins.benchmark``);
nothing here imports them.
"""

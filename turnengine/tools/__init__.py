"""The tools built on the library: the ``turnengine`` command line (:mod:`.cli`), the live
microphone (:mod:`.mic`), timeline plots (:mod:`.plot`), the benchmark (:mod:`.bench`) and the
evaluation against timing labels (:mod:`.eval`).

Data flows one way: the tools import the library (``turnengine.engine``, ``.replay``,
``.scenario``, ``.host``), never the other way round.  Importing this package imports none of
its modules.
"""

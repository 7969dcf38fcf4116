"""The inside of :class:`~turnengine.TurnEngine`, one concern per module, data flowing one way::

    pipeline (intake -> VAD -> hysteresis -> timers: kernels, buffers, codes out)
      -> driver (steps the pipeline, hands each step's codes on, runs due actions)
      -> session (codes and host calls -> events, turns, transcripts, chat history)
      -> bus (callbacks, ``once``, asyncio queues, the lists host calls return)

plus the scheduler (host actions at clock times), the audio history (VAD-event audio, STT gate,
end-of-turn audio), the VAD reporting (``VADMetrics``, VAD events, the window log) and the
session record (history, usage, report).  Nothing here is public API: ``turnengine.engine`` is
the facade.  See docs/how-it-works.md for the diagram.
"""

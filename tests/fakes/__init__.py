"""Local, protocol-faithful fakes of the services the bot talks to, for tests and load runs.

Each fake is an aiohttp server on 127.0.0.1 with an OS-chosen port (``async with Fake(...) as f``
or ``await f.start()`` / ``await f.stop()``) that records what it receives:

* ``deepgram_stt.FakeDeepgramListen``: the ``/v1/listen`` websocket (scripted transcripts).
* ``groq_llm.FakeGroq``: ``/openai/v1/chat/completions`` SSE, scripted by ``groq_script.Reply``.
* ``deepgram_tts.FakeDeepgramSpeak``: ``/v1/speak`` over HTTP and websocket.
* ``plivo_rest.FakePlivoApi``: hang-up and transfer of live calls.

``plivo_caller.FakePlivoCaller`` is the other side: it calls our server as Plivo would
(:mod:`bot.simulated_caller`, which the demo uses too, plus the recorded fixtures).
Nothing here imports pytest.
"""

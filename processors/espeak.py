"""A minimal ctypes binding to espeak-ng, loaded from the ``espeakng-loader`` wheel.

Licence: espeak-ng is GPL-3.0-or-later. This module loads ``libespeak-ng`` into the Python
process with ctypes (no subprocess), so a program that uses it links a GPL library at run time.

espeak-ng keeps one global synthesiser per process and is not thread-safe: every call into it
goes through :func:`synthesise_pcm`, which holds a process-wide lock for the whole of one text
(voice, parameters and synthesis). It is fast: a sentence takes a few milliseconds (about
1/400 of real time on one core), so a text is synthesised whole rather than streamed.
"""

from __future__ import annotations

import ctypes
import threading

import espeakng_loader

ESPEAK_SAMPLE_RATE = 22050
"""What espeak-ng produces (16-bit mono PCM); loading checks the library agrees."""

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3
_EE_OK = 0
_BUFFER_MS = 200  # audio per callback

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class EspeakError(RuntimeError):
    """espeak-ng could not load, find a voice or synthesise."""


class _Engine:
    """The loaded library, its callback and the current output; used only under ``_LOCK``."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,  # text
            ctypes.c_size_t,  # size in bytes, including the terminating NUL
            ctypes.c_uint,  # position
            ctypes.c_int,  # position type
            ctypes.c_uint,  # end position (0: none)
            ctypes.c_uint,  # flags
            ctypes.c_void_p,  # unique identifier out (unused)
            ctypes.c_void_p,  # user data (unused: the output lives on the engine)
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_void_p),  # text pointer, advanced past what was read
            ctypes.c_int,  # text mode: UTF-8
            ctypes.c_int,  # phoneme mode: IPA
        ]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p

        data_path = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, data_path, _INITIALIZE_DONT_EXIT
        )
        if rate != ESPEAK_SAMPLE_RATE:
            raise EspeakError(f"espeak-ng initialisation returned {rate}")

        self.lib = lib
        self.output: list[bytes] | None = None
        # Kept on the instance: ctypes would free the trampoline if it were collected.
        self.callback = _SynthCallback(self._on_audio)
        lib.espeak_SetSynthCallback(self.callback)

    def _on_audio(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        # A NULL buffer marks the end of the text. Returning 0 lets synthesis go on.
        if wav and count > 0 and self.output is not None:
            self.output.append(ctypes.string_at(wav, count * 2))
        return 0


_PHONEMES_IPA = 0x02
"""``espeak_TextToPhonemes`` phoneme mode: IPA rather than espeak-ng's own mnemonics."""

_LOCK = threading.Lock()
_engine: _Engine | None = None


def _get_engine() -> _Engine:
    """The process's one engine, loaded on first use; call with ``_LOCK`` held."""
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine


def synthesise_pcm(text: str, voice: str, *, rate: int = 175, pitch: int = 50) -> bytes:
    """Speak ``text`` with ``voice``: 16-bit mono PCM at :data:`ESPEAK_SAMPLE_RATE` Hz.

    Blocks for the synthesis (a few milliseconds a sentence), and while another thread holds
    the engine; call it off the event loop. Texts never interleave.

    Args:
        text: Plain text; UTF-8, so Devanagari works with a Hindi voice.
        voice: An espeak-ng voice name, optionally with a variant (``"en-us+m3"``).
        rate: Speaking rate in words per minute (espeak-ng's default is 175).
        pitch: Base pitch, 0-100 (espeak-ng's default is 50).

    Raises:
        EspeakError: The library failed to load, the voice is unknown or synthesis failed.
    """
    encoded = text.encode("utf-8") + b"\0"
    output: list[bytes] = []
    with _LOCK:
        engine = _get_engine()
        if engine.lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise EspeakError(f"espeak-ng has no voice {voice!r}")
        engine.lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
        engine.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)

        engine.output = output
        try:
            result = engine.lib.espeak_Synth(
                encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
        finally:
            engine.output = None
    if result != _EE_OK:
        raise EspeakError(f"espeak-ng synthesis failed with code {result}")
    return b"".join(output)


def phonemes(text: str, voice: str) -> str:
    """How ``voice`` would pronounce ``text``, in IPA (stress and length marks included).

    Reads the first clause of ``text`` only; give it a word or a short phrase.

    Args:
        text: Plain UTF-8 text.
        voice: An espeak-ng voice name (its language's spelling rules apply).

    Raises:
        EspeakError: The library failed to load or the voice is unknown.
    """
    buffer = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
    pointer = ctypes.c_void_p(ctypes.addressof(buffer))
    with _LOCK:
        engine = _get_engine()
        if engine.lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise EspeakError(f"espeak-ng has no voice {voice!r}")
        ipa = engine.lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, _PHONEMES_IPA)
    return (ipa or b"").decode("utf-8", errors="replace").strip()

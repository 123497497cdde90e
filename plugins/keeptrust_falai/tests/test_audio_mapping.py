"""Speech and transcription mappings, both ways (pure functions)."""

from __future__ import annotations

import base64

import pytest

from keeptrust.context import UploadedFile
from keeptrust.errors import BodyTooLarge, RequestError, UpstreamError
from keeptrust_falai import audio
from keeptrust_falai.testing import MP3

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 32


def test_speech_request_maps_input_voice_speed_and_extras():
    request = audio.speech_request(
        {
            "model": "m",
            "input": "Hello",
            "voice": "af_heart",
            "speed": 1.5,
            "response_format": "wav",
            "instructions": "calm",
            "seed": 3,
        }
    )
    assert request.payload == {"text": "Hello", "voice": "af_heart", "speed": 1.5, "seed": 3}
    assert request.response_format == "wav"


def test_openai_voices_fall_back_to_the_model_default():
    assert "voice" not in audio.speech_request({"input": "Hi", "voice": "alloy"}).payload
    assert audio.speech_request({"input": "Hi", "voice": {"id": "voice_123"}}).payload["voice"] == "voice_123"


@pytest.mark.parametrize(
    "body",
    [{"input": "x", "speed": 9}, {"input": "x", "response_format": "ogg"}, {"input": "x", "stream_format": "sse"}],
)
def test_speech_rejects_out_of_range(body):
    with pytest.raises(RequestError):
        audio.speech_request(body)


def test_speech_output_shapes():
    out = audio.speech_output({"audio": {"url": "https://cdn/a.wav", "file_name": "a.wav", "file_size": 10}})
    assert out == audio.AudioOutput("https://cdn/a.wav", "audio/x-wav", 10)
    assert audio.speech_output({"audio_url": "https://cdn/b"}).url == "https://cdn/b"
    with pytest.raises(UpstreamError):
        audio.speech_output({"images": []})


def _transcription(body, limit=10_000_000):
    return audio.transcription_request(body, max_audio_bytes=limit, limit_reason="test")


def test_transcription_sends_a_data_uri_with_fal_media_type():
    request = _transcription(
        {"file": UploadedFile("a.mp3", "audio/mp3", MP3), "language": "en", "prompt": "fox", "temperature": 0.2}
    )
    assert request.payload == {
        "audio_url": "data:audio/mpeg;base64," + base64.b64encode(MP3).decode(),
        "language": "en",
        "prompt": "fox",
    }


@pytest.mark.parametrize(
    ("name", "ctype", "data", "expected"),
    [
        ("a.wav", "audio/wav", WAV, "audio/x-wav"),
        ("a.webm", "audio/webm", b"\x1a\x45\xdf\xa3xxxx", "video/webm"),
        ("clip", "application/octet-stream", WAV, "audio/x-wav"),
        ("clip.mp3", "application/octet-stream", b"????", "audio/mpeg"),
    ],
)
def test_audio_types_are_relabelled_for_fal(name, ctype, data, expected):
    assert audio.audio_media_type(UploadedFile(name, ctype, data)) == expected


def test_unsupported_audio_is_a_400_naming_the_formats():
    with pytest.raises(RequestError) as info:
        _transcription({"file": UploadedFile("a.m4a", "audio/mp4", b"\x00\x00\x00\x20ftypM4A ")})
    assert info.value.status == 400 and "mp3, wav and webm" in info.value.message


def test_streamed_transcription_is_refused():
    with pytest.raises(RequestError) as info:
        _transcription({"file": UploadedFile("a.mp3", "audio/mpeg", MP3), "stream": True})
    assert info.value.param == "stream"


def test_oversized_audio_is_a_413_naming_the_limit():
    with pytest.raises(BodyTooLarge) as info:
        _transcription({"file": UploadedFile("a.mp3", "audio/mpeg", MP3)}, limit=100)
    assert info.value.status == 413 and "at most 100 bytes" in info.value.message


def test_granularities_choose_the_chunk_level():
    file = UploadedFile("a.mp3", "audio/mpeg", MP3)
    words = _transcription(
        {"file": file, "response_format": "verbose_json", "timestamp_granularities": ["word", "segment"]}
    )
    assert words.payload["chunk_level"] == "word" and words.words
    assert _transcription({"file": file, "response_format": "srt"}).payload["chunk_level"] == "segment"
    assert "chunk_level" not in _transcription({"file": file}).payload
    with pytest.raises(RequestError):
        _transcription({"file": file, "timestamp_granularities": "word"})
    with pytest.raises(RequestError):
        _transcription({"file": file, "response_format": "verbose_json", "timestamp_granularities": "letter"})


RESULT = {
    "text": "Hello world.",
    "inferred_languages": ["en"],
    "chunks": [{"text": "Hello", "timestamp": [0.0, 0.5]}, {"text": " world.", "timestamp": [0.5, None]}],
}


def _answer(fmt, words=False):
    request = audio.TranscriptionRequest({}, fmt, words)
    answer = audio.transcription_answer(RESULT, request, {})
    render = audio.text_renderer(fmt)
    if render is None:
        return answer
    data, ctype = render(answer)
    assert ctype == "text/plain; charset=utf-8"
    return data.decode()


def test_transcription_answers_in_every_format():
    assert _answer("json") == {"text": "Hello world."}
    assert _answer("text") == "Hello world."
    assert _answer("srt") == "1\n00:00:00,000 --> 00:00:00,500\nHello\n\n2\n00:00:00,500 --> 00:00:00,500\nworld.\n"
    assert _answer("vtt").startswith("WEBVTT\n\n00:00:00.000 --> 00:00:00.500\nHello\n")
    verbose = _answer("verbose_json")
    assert verbose["language"] == "en" and verbose["duration"] == 0.5 and verbose["text"] == "Hello world."
    assert [(s["id"], s["start"], s["end"], s["text"]) for s in verbose["segments"]] == [
        (0, 0.0, 0.5, "Hello"),
        (1, 0.5, 0.5, " world."),
    ]
    words = _answer("verbose_json", words=True)
    assert words["words"] == [{"word": "Hello", "start": 0.0, "end": 0.5}, {"word": "world.", "start": 0.5, "end": 0.5}]
    assert len(words["segments"]) == 1


def test_alternative_transcription_shape():
    request = audio.TranscriptionRequest({}, "verbose_json", False)
    answer = audio.transcription_answer(
        {"output": "hi", "segments": [{"text": "hi", "start": 1, "end": 2}]}, request, {"language": "fr"}
    )
    assert answer["text"] == "hi" and answer["language"] == "fr" and answer["segments"][0]["end"] == 2.0
    with pytest.raises(UpstreamError):
        audio.transcription_answer({"chunks": []}, request, {})

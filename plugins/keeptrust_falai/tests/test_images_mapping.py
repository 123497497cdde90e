"""OpenAI image requests → fal inputs, and fal results → OpenAI's answer (pure functions)."""

from __future__ import annotations

import base64

import pytest

from keeptrust.context import UploadedFile
from keeptrust.errors import RequestError, UpstreamError
from keeptrust_falai import images, media
from keeptrust_falai.testing import PNG


def test_generation_maps_every_openai_parameter():
    request = images.generation_request(
        {
            "model": "huggingface/fal-ai/black-forest-labs/FLUX.1-dev",
            "prompt": "a lighthouse",
            "n": 2,
            "size": "1024x768",
            "response_format": "b64_json",
            "output_format": "jpg",
            "moderation": "low",
            "quality": "hd",
            "style": "vivid",
            "user": "u-1",
            "seed": 7,
            "num_inference_steps": 12,
        }
    )
    assert request.payload == {
        "prompt": "a lighthouse",
        "num_images": 2,
        "image_size": {"width": 1024, "height": 768},
        "sync_mode": True,
        "output_format": "jpeg",
        "enable_safety_checker": False,
        "quality": "high",
        "seed": 7,
        "num_inference_steps": 12,
    }
    assert request.response_format == "b64_json"
    assert request.output_format == "jpeg"
    assert request.size == "1024x768"


def test_generation_defaults_are_minimal():
    request = images.generation_request({"prompt": "x", "size": "auto", "moderation": "auto", "style": "realistic"})
    assert request.payload == {"prompt": "x", "style": "realistic"}
    assert request.response_format == "url"


def test_fal_named_sizes_pass_through():
    request = images.generation_request({"prompt": "x", "size": "landscape_16_9"})
    assert request.payload["image_size"] == "landscape_16_9"


@pytest.mark.parametrize("size", ["1024", "axb", "0x512", "20000x10", "1024x1024x3", "big"])
def test_invalid_size_is_a_400_naming_size(size):
    with pytest.raises(RequestError) as info:
        images.generation_request({"prompt": "x", "size": size})
    assert info.value.status == 400
    assert info.value.param == "size"


def test_bad_output_and_response_format():
    with pytest.raises(RequestError, match="output_format"):
        images.generation_request({"prompt": "x", "output_format": "bmp"})
    with pytest.raises(RequestError, match="response_format"):
        images.generation_request({"prompt": "x", "response_format": "base64"})


def test_streaming_always_asks_for_inline_images():
    assert images.generation_request({"prompt": "x"}, streaming=True).payload["sync_mode"] is True


def test_edit_single_upload_goes_in_both_fields_with_mask():
    upload = UploadedFile("cat.png", "application/octet-stream", PNG)
    mask = UploadedFile("mask.png", "image/png", PNG)
    request = images.edit_request({"prompt": "add a hat", "image": upload, "mask": mask, "n": 1})
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert request.payload == {
        "prompt": "add a hat",
        "num_images": 1,
        "image_url": uri,
        "image_urls": [uri],
        "mask_url": uri,
    }


def test_edit_several_images_use_image_urls_and_urls_pass_through():
    request = images.edit_request(
        {"prompt": "merge", "image": ["https://example.com/a.png", UploadedFile("b.png", "image/png", PNG)]}
    )
    assert request.payload["image_urls"][0] == "https://example.com/a.png"
    assert request.payload["image_urls"][1].startswith("data:image/png;base64,")
    assert "image_url" not in request.payload


def test_edit_override_and_its_conflict():
    one = UploadedFile("a.png", "image/png", PNG)
    assert images.edit_request({"prompt": "p", "image": one, "use_image_urls": "true"}).payload.keys() >= {"image_urls"}
    assert "image_urls" not in images.edit_request({"prompt": "p", "image": one, "use_image_urls": False}).payload
    with pytest.raises(RequestError, match="use_image_urls"):
        images.edit_request({"prompt": "p", "image": [one, one], "use_image_urls": False})


@pytest.mark.parametrize(
    "bad",
    [
        UploadedFile("a.txt", "text/plain", b"hello"),
        "file:///etc/passwd",
        "data:text/html;base64,AAAA",
        UploadedFile("a.png", "image/png", b""),
    ],
)
def test_edit_rejects_what_is_not_an_image(bad):
    with pytest.raises(RequestError) as info:
        images.edit_request({"prompt": "p", "image": bad})
    assert info.value.param == "image"


def test_declared_image_type_is_used_when_bytes_are_unknown():
    assert media.image_reference(UploadedFile("x.webp", "image/webp", b"????"), "image").startswith("data:image/webp")


def test_result_images_accepts_fal_shapes():
    assert images.result_images({"images": [{"url": "u"}]}) == [{"url": "u"}]
    assert images.result_images({"image": {"url": "u"}}) == [{"url": "u"}]
    assert images.result_images({"data": {"images": ["u"]}}) == [{"url": "u"}]
    with pytest.raises(UpstreamError):
        images.result_images({"video": {"url": "u"}})
    with pytest.raises(UpstreamError):
        images.result_images({"images": [{"content_type": "image/png"}]})


def test_openai_answer_carries_created_size_format_and_usage():
    request = images.generation_request({"prompt": "x"})
    result = {
        "images": [{"url": "https://cdn/x.png", "width": 512, "height": 256, "content_type": "image/png"}],
        "usage": {"input_tokens": 3, "output_tokens": 9, "total_tokens": 12},
    }
    answer = images.openai_answer(result, [{"url": "https://cdn/x.png"}], request, created=123)
    assert answer == {
        "created": 123,
        "data": [{"url": "https://cdn/x.png"}],
        "output_format": "png",
        "size": "512x256",
        "usage": {"input_tokens": 3, "output_tokens": 9, "total_tokens": 12},
    }


def test_data_uri_round_trip():
    uri = media.data_uri("image/png", PNG)
    assert media.decode_data_uri(uri) == ("image/png", PNG)
    assert base64.b64decode(media.data_uri_base64(uri)) == PNG
    with pytest.raises(UpstreamError):
        media.decode_data_uri("data:nonsense")


def test_form_extras_are_typed_back_json_extras_are_not():
    upload = UploadedFile("a.png", "image/png", PNG)
    form = images.edit_request(
        {
            "prompt": "p",
            "image": upload,
            "guidance_scale": "3.5",
            "seed": "7",
            "enable_safety_checker": "false",
            "negative_prompt": "blurry",
        }
    ).payload
    assert (form["guidance_scale"], form["seed"], form["enable_safety_checker"], form["negative_prompt"]) == (
        3.5,
        7,
        False,
        "blurry",
    )
    json_body = images.edit_request({"prompt": "p", "image": "https://x/a.png", "negative_prompt": "1999"}).payload
    assert json_body["negative_prompt"] == "1999"

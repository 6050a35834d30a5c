"""The four conversation templates rendered exactly, their stop strings, and the legacy tokenization."""
from __future__ import annotations

from transformers import AutoTokenizer

from workers.runtime.prompting import IMAGE_TOKEN_INDEX, Video, legacy_ids, legacy_message, nvila_message
from workers.runtime.templates import get_template, known_templates
from workers.runtime.tiny import make_tiny

MSG = "<image>\nWhat is it?"


def test_vicuna_v1_exact():
    text = get_template("vicuna_v1").render(None, MSG)
    assert text == ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
                    "helpful, detailed, and polite answers to the user's questions. USER: <image>\nWhat is it? "
                    "ASSISTANT:")


def test_llama_3_exact():
    text = get_template("llama_3").render(None, MSG)
    assert text == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and vision "
        "assistant. You are able to understand the visual content that the user provides, and assist the user with "
        "a variety of tasks using natural language.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
        "<image>\nWhat is it?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")


def test_hermes_2_exact():
    text = get_template("hermes-2").render(None, MSG)
    assert text == ("<|im_start|>system\nAnswer the questions.<|im_end|><|im_start|>user\n<image>\nWhat is it?"
                    "<|im_end|><|im_start|>assistant\n")


def test_auto_exact_with_vila_qwen2_template(tiny_model):
    text = get_template("auto").render(tiny_model.tokenizer, MSG)
    assert text == ("<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\n<image>\n"
                    "What is it?<|im_end|>\n<|im_start|>assistant\n")
    assert get_template("auto").stop_strings(tiny_model.tokenizer) == ("<|im_end|>",)


def test_stop_strings(tmp_path):
    class Tok:
        eos_token = "</s>"

    assert get_template("vicuna_v1").stop_strings(Tok())[0] == "</s>"
    assert get_template("llama_3").stop_strings(Tok())[:2] == ("<|eot_id|>", "<|end_of_text|>")
    assert get_template("hermes-2").stop_strings(Tok())[0] == "<|im_end|>"
    assert {"auto", "vicuna_v1", "llama_3", "hermes-2"} <= set(known_templates())


def test_legacy_tokenization_keeps_one_bos_and_puts_minus_200(tmp_path):
    tok = AutoTokenizer.from_pretrained(make_tiny(tmp_path / "m", llm="llama") / "llm")
    bos = tok.bos_token_id
    ids = legacy_ids(tok, "A <image>\nb<image>\n c")
    assert ids[0] == bos and ids.count(bos) == 1 and ids.count(IMAGE_TOKEN_INDEX) == 2
    pieces = [tok(x, add_special_tokens=False).input_ids for x in ("A ", "\nb", "\n c")]
    assert ids == [bos] + pieces[0] + [IMAGE_TOKEN_INDEX] + pieces[1] + [IMAGE_TOKEN_INDEX] + pieces[2]
    assert legacy_ids(tok, "no media") == tok("no media").input_ids


def test_messages_per_generation():
    image = object.__new__(__import__("PIL.Image", fromlist=["Image"]).Image)
    parts = [image, "What is <vila/video>this?"]
    assert legacy_message(parts) == "<image>\nWhat is this?"
    assert legacy_message([Video([image, image]), "Q"]) == "<image>\n<image>\nQ"
    assert nvila_message(parts, ["<image>"]) == "<image>What is this?"
    assert nvila_message([Video([image]), "Q"], []) == "<vila/video>Q"
    assert nvila_message(parts, ["<image>\n<image>\n"]) == "<image>\n<image>\nWhat is this?"

"""Each backend on a tiny model built on the spot and loaded through the real loading code,
checked against an independent computation with plain transformers (no padding, one sequence
at a time); payloads written by hand in the SPEC's item shapes (2.1-2.4)."""

from __future__ import annotations

import io
import math

import pytest
import torch
from PIL import Image
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    CLIPModel,
)

from models_runtime.backends import (
    BACKENDS,
    BackendError,
    PredictInput,
    PredictorConfig,
    load_predictor,
)

PAIRS = [
    {
        "prompt": "Which is the capital of France?",
        "response_a": "Paris.",
        "response_b": "The capital of France is Paris, a city on the Seine.",
    },
    {
        "prompt": "Say something kind.",
        "context": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        "response_a": "You matter.",
        "response_b": "No.",
    },
    {
        "prompt": "Explain a tie.",
        "response_a": "Both are the same.",
        "response_b": "A tie means both answers are about the same, as when A and B are equal.",
    },
]

THREAD = {
    "title": "Crash on startup",
    "comments": [
        {"id": "c1", "author": "alice", "body": "The app crashes when I start it."},
        {
            "id": "c2",
            "author": "bob",
            "author_association": "MEMBER",
            "body": "Thanks for the report, we will look into it.",
        },
        {"id": "c3", "author": "alice", "body": "This is a useless answer, fix it now!"},
    ],
}

TOM = {
    "story": "Anna put the chocolate in the drawer and left. Max moved it to the box.",
    "questions": [
        {
            "id": "q_aware",
            "kind": "mental_state",
            "text": "Is Anna likely to be aware that the chocolate is in the box?",
            "choices": [{"label": "A", "text": "Yes"}, {"label": "B", "text": "No"}],
        },
        {
            "id": "q_action",
            "kind": "behavior",
            "text": "Where will Anna look first?",
            "choices": ["drawer", "box"],
        },
    ],
}


def load(kind, task_type, path, **params):
    return load_predictor(kind, PredictorConfig(task_type, path, params))


def plain_reward(model, tokenizer, text):
    ids = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        return model(**ids).logits[0]


# --- reward model


def test_reward_model_gives_bradley_terry_probability_of_the_two_rewards(reward_model_dir):
    predictor = load("reward_model", "preference_pair", reward_model_dir)
    tokenizer = AutoTokenizer.from_pretrained(reward_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(reward_model_dir).eval()
    predictions = predictor.predict([PredictInput(i, p) for i, p in enumerate(PAIRS)])
    for pair, prediction in zip(PAIRS, predictions, strict=True):
        turns = "".join(
            f"{t['role'].capitalize()}: {t['content']}\n\n" for t in pair.get("context", [])
        )
        ra = float(
            plain_reward(
                model,
                tokenizer,
                f"{turns}User: {pair['prompt']}\n\nAssistant: {pair['response_a']}",
            )[0]
        )
        rb = float(
            plain_reward(
                model,
                tokenizer,
                f"{turns}User: {pair['prompt']}\n\nAssistant: {pair['response_b']}",
            )[0]
        )
        assert prediction.details["reward_a"] == pytest.approx(ra, abs=1e-4)
        assert prediction.details["reward_b"] == pytest.approx(rb, abs=1e-4)
        assert prediction.score == pytest.approx(1 / (1 + math.exp(ra - rb)), abs=1e-5)
        assert prediction.distribution == pytest.approx(
            {"a": 1 - prediction.score, "b": prediction.score}
        )
        assert set(prediction.value) == {"preference", "aspects", "rationale", "flags"}


def test_reward_model_batched_predictions_equal_one_at_a_time(reward_model_dir):
    predictor = load("reward_model", "preference_pair", reward_model_dir, max_batch=64)
    inputs = [PredictInput(i, p) for i, p in enumerate(PAIRS * 3)]
    together = predictor.predict(inputs)
    alone = [predictor.predict([item])[0] for item in inputs]
    assert [p.score for p in together] == pytest.approx([p.score for p in alone], abs=1e-5)
    assert [p.key for p in together] == list(range(len(inputs)))


def varied_pairs(n):
    """Pairs whose lengths rise and fall with their position, so batches sorted by length hold
    items from all over the input."""
    words = [
        "the",
        "answer",
        "is",
        "clear",
        "because",
        "the",
        "model",
        "gives",
        "a",
        "helpful",
        "response",
    ]
    return [
        {
            "prompt": f"Question {i}?",
            "response_a": " ".join(words[: 1 + (i * 7) % len(words)] * (1 + i % 4)),
            "response_b": " ".join(words[: 1 + (i * 3) % len(words)] * (1 + (i * 5) % 3)),
        }
        for i in range(n)
    ]


def test_reward_model_returns_results_in_input_order_across_batches_of_varied_length(
    reward_model_dir,
):
    # A small token budget splits the inputs into several length-sorted batches.
    predictor = load("reward_model", "preference_pair", reward_model_dir, max_tokens=256)
    pairs = varied_pairs(24)
    inputs = [PredictInput(100 - i, p) for i, p in enumerate(pairs)]
    assert len(list(predictor.batches(inputs))) > 2
    together = predictor.predict(inputs)
    alone = [predictor.predict([item])[0] for item in inputs]
    assert [p.key for p in together] == [item.key for item in inputs]
    assert [p.details["reward_a"] for p in together] == pytest.approx(
        [p.details["reward_a"] for p in alone], abs=1e-5
    )
    assert [p.details["reward_b"] for p in together] == pytest.approx(
        [p.details["reward_b"] for p in alone], abs=1e-5
    )


def test_reward_model_with_two_outputs_reads_mean_and_log_variance(distributional_reward_dir):
    predictor = load("reward_model", "preference_pair", distributional_reward_dir)
    tokenizer = AutoTokenizer.from_pretrained(distributional_reward_dir)
    model = AutoModelForSequenceClassification.from_pretrained(distributional_reward_dir).eval()
    pair = PAIRS[0]
    prediction = predictor.predict([PredictInput(7, pair)])[0]
    out_a = plain_reward(
        model, tokenizer, f"User: {pair['prompt']}\n\nAssistant: {pair['response_a']}"
    )
    out_b = plain_reward(
        model, tokenizer, f"User: {pair['prompt']}\n\nAssistant: {pair['response_b']}"
    )
    assert prediction.details["reward_a"] == pytest.approx(float(out_a[0]), abs=1e-4)
    assert prediction.details["variance_a"] == pytest.approx(math.exp(float(out_a[1])), rel=1e-3)
    assert prediction.details["variance_b"] == pytest.approx(math.exp(float(out_b[1])), rel=1e-3)
    # The variances pull the probability towards 1/2 compared with the means alone.
    plain = 1 / (1 + math.exp(float(out_a[0]) - float(out_b[0])))
    assert abs(prediction.score - 0.5) < abs(plain - 0.5)


def test_reward_model_keeps_the_end_of_long_inputs(reward_model_dir):
    predictor = load("reward_model", "preference_pair", reward_model_dir, max_length=24)
    long_pair = {**PAIRS[0], "prompt": "word " * 400}
    sequences = predictor.encode(PredictInput(1, long_pair))
    assert all(len(seq) <= 24 for seq in sequences)
    tokenizer = AutoTokenizer.from_pretrained(reward_model_dir)
    assert tokenizer.decode(sequences[0]).rstrip().endswith("Paris.[SEP]")


def test_reward_model_refuses_other_task_types_and_unknown_params(reward_model_dir):
    with pytest.raises(BackendError, match="does not answer"):
        load("reward_model", "derailment", reward_model_dir)
    with pytest.raises(BackendError, match="unknown parameter"):
        load("reward_model", "preference_pair", reward_model_dir, temperature=2)
    with pytest.raises(BackendError, match="not a directory"):
        load("reward_model", "preference_pair", reward_model_dir + "-missing")


# --- sequence classifier (derailment)


def test_sequence_classifier_scores_every_prefix_and_finds_the_derailment_point(classifier_dir):
    tokenizer = AutoTokenizer.from_pretrained(classifier_dir)
    model = AutoModelForSequenceClassification.from_pretrained(classifier_dir).eval()
    texts, parts = [], ["Title: Crash on startup"]
    for comment in THREAD["comments"]:
        parts.append(f"{comment['author']}: {comment['body']}")
        texts.append("\n\n".join(parts))
    expected = [float(torch.softmax(plain_reward(model, tokenizer, t), -1)[1]) for t in texts]
    # A threshold between the scores, so that the rule has a first crossing to find.
    threshold = sorted(expected)[1]
    predictor = load("sequence_classifier", "derailment", classifier_dir, threshold=threshold)
    prediction = predictor.predict([PredictInput(3, THREAD)])[0]
    got = [entry["p"] for entry in prediction.details["prefix_scores"]]
    assert got == pytest.approx(expected, abs=1e-5)
    first = next(
        c["id"] for c, p in zip(THREAD["comments"], expected, strict=True) if p >= threshold
    )
    assert prediction.value["derailment_comment"] == first
    peak = THREAD["comments"][expected.index(max(expected))]["id"]
    assert prediction.value["toxic_comment"] == peak
    assert prediction.score == pytest.approx(max(expected), abs=1e-5)
    assert prediction.value["toxic"] is True
    # float32 inference batched and alone differ in the last bits (1e-9 on 5.7e-4 seen): an absolute
    # tolerance holds at any thread count, pytest.approx's default relative 1e-6 does not.
    assert prediction.distribution == pytest.approx(
        {"no": 1 - max(expected), "yes": max(expected)}, abs=1e-5
    )


def test_sequence_classifier_says_never_when_no_prefix_crosses(classifier_dir):
    predictor = load("sequence_classifier", "derailment", classifier_dir, threshold=1.01)
    prediction = predictor.predict([PredictInput(1, THREAD)])[0]
    assert prediction.value == {"toxic": False, "toxic_comment": None, "derailment_comment": None}


def test_sequence_classifier_rejects_a_thread_without_comments(classifier_dir):
    predictor = load("sequence_classifier", "derailment", classifier_dir)
    with pytest.raises(BackendError, match="comments"):
        predictor.predict([PredictInput(1, {"title": "x", "comments": []})])


# --- causal LM judge


def option_loglik(model, tokenizer, prompt, option):
    prompt_ids = tokenizer(prompt)["input_ids"]
    option_ids = tokenizer(option, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + option_ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0], -1)
    return sum(float(logp[len(prompt_ids) + j - 1, t]) for j, t in enumerate(option_ids))


def test_causal_lm_judge_turns_option_likelihoods_into_a_preference(lm_dir):
    tokenizer = AutoTokenizer.from_pretrained(lm_dir)
    model = AutoModelForCausalLM.from_pretrained(lm_dir).eval()
    pair = PAIRS[0]
    prompt = (
        f"User prompt: {pair['prompt']}\n\nResponse A: {pair['response_a']}\n\n"
        f"Response B: {pair['response_b']}\n\nWhich response is better? Answer A, B or tie."
        "\nAnswer:"
    )
    logliks = [option_loglik(model, tokenizer, prompt, o) for o in (" A", " B", " tie")]
    z = sum(math.exp(v) for v in logliks)
    expected = {k: math.exp(v) / z for k, v in zip(("a", "b", "tie"), logliks, strict=True)}
    prediction = load("causal_lm_judge", "preference_pair", lm_dir).predict(
        [PredictInput(1, pair)]
    )[0]
    assert prediction.distribution == pytest.approx(expected, abs=1e-5)
    assert prediction.score == pytest.approx(expected["b"] + expected["tie"] / 2, abs=1e-5)


def test_causal_lm_judge_debiased_order_is_symmetric_in_a_and_b(lm_dir):
    predictor = load("causal_lm_judge", "preference_pair", lm_dir, debias_order=True)
    pair = PAIRS[2]
    swapped = {**pair, "response_a": pair["response_b"], "response_b": pair["response_a"]}
    first, second = predictor.predict([PredictInput(1, pair), PredictInput(2, swapped)])
    assert first.score == pytest.approx(1 - second.score, abs=1e-5)
    assert first.distribution["tie"] == pytest.approx(second.distribution["tie"], abs=1e-5)


def test_causal_lm_judge_without_tie_has_two_options(lm_dir):
    predictor = load("causal_lm_judge", "preference_pair", lm_dir, allow_tie=False)
    prediction = predictor.predict([PredictInput(1, PAIRS[1])])[0]
    assert set(prediction.distribution) == {"a", "b"}
    assert sum(prediction.distribution.values()) == pytest.approx(1.0)


def test_causal_lm_judge_batched_predictions_equal_one_at_a_time(lm_dir):
    predictor = load("causal_lm_judge", "preference_pair", lm_dir, max_tokens=512)
    inputs = [PredictInput(50 - i, p) for i, p in enumerate(varied_pairs(9) + PAIRS)]
    together = predictor.predict(inputs)
    alone = [predictor.predict([item])[0] for item in inputs]
    assert [p.key for p in together] == [item.key for item in inputs]
    for batched, single in zip(together, alone, strict=True):
        assert batched.distribution == pytest.approx(single.distribution, abs=1e-5)


def test_causal_lm_judge_answers_every_tom_question(lm_dir):
    tokenizer = AutoTokenizer.from_pretrained(lm_dir)
    model = AutoModelForCausalLM.from_pretrained(lm_dir).eval()
    prediction = load("causal_lm_judge", "tom", lm_dir).predict([PredictInput(4, TOM)])[0]
    assert set(prediction.value["answers"]) == {"q_aware", "q_action"}
    prompt = (
        f"Story: {TOM['story']}\n\nQuestion: {TOM['questions'][1]['text']}\n"
        "drawer. drawer\nbox. box\n"
    )
    logliks = [option_loglik(model, tokenizer, prompt, f"Answer: {o}") for o in ("drawer", "box")]
    expected = "drawer" if logliks[0] > logliks[1] else "box"
    assert prediction.value["answers"]["q_action"] == expected
    assert prediction.details["questions"]["q_aware"].keys() == {"A", "B"}
    assert 0.5 <= prediction.score <= 1.0


# --- CLIP


def png(color, size=(48, 40)) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, color)
    image.paste((255, 255, 255), (5, 5, 20, 20))
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_clip_picks_a_premise_option_from_image_text_similarity(clip_dir, tmp_path):
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    media = {"img/1.png": png((200, 30, 30))}
    item = {
        "image": "img/1.png",
        "conclusion": "Factories melt glaciers.",
        "premise_options": ["A melting glacier", "A factory chimney", "A happy dog"],
    }
    predictor = load_predictor(
        "clip", PredictorConfig("visual_argument", clip_dir, {}, open_media=media.__getitem__)
    )
    prediction = predictor.predict([PredictInput(9, item)])[0]

    model = CLIPModel.from_pretrained(clip_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(clip_dir)
    processor = CLIPImageProcessorPil(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    )
    pixels = processor(
        images=Image.open(io.BytesIO(media["img/1.png"])).convert("RGB"), return_tensors="pt"
    )["pixel_values"]
    eos = tokenizer.eos_token_id
    logits = []
    for text in item["premise_options"]:
        ids = torch.tensor([tokenizer(text)["input_ids"] + [eos]])
        with torch.no_grad():
            logits.append(float(model(input_ids=ids, pixel_values=pixels).logits_per_image[0, 0]))
    expected = dict(
        zip(item["premise_options"], torch.softmax(torch.tensor(logits), -1).tolist(), strict=True)
    )
    assert prediction.distribution == pytest.approx(expected, abs=2e-3)
    assert prediction.value == {"choice": max(expected, key=expected.get)}


def test_clip_scores_boxes_against_their_premise_texts(clip_dir):
    predictor = load("clip", "visual_argument", clip_dir)
    image = Image.open(io.BytesIO(png((10, 120, 200), size=(64, 64)))).convert("RGB")
    scores = predictor.score_boxes(
        image,
        [
            ("a white square", {"x": 5, "y": 5, "w": 15, "h": 15}),
            ("blue sky", {"x": 20, "y": 20, "w": 40, "h": 40}),
        ],
    )
    assert len(scores) == 2 and all(math.isfinite(s) for s in scores)
    with pytest.raises(BackendError, match="positive"):
        predictor.score_boxes(image, [("x", {"x": 1, "y": 1, "w": 0, "h": 3})])


def test_padded_rows_are_right_padded_with_a_mask_of_their_lengths():
    from models_runtime.backends._torch import padded

    ids, mask = padded([[5, 6, 7], [8], [9, 10]], 0, torch.device("cpu"))
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    assert ids.dtype == mask.dtype == torch.long


def test_clip_reports_an_undecodable_image(clip_dir):
    predictor = load_predictor(
        "clip",
        PredictorConfig("visual_argument", clip_dir, {}, open_media=lambda name: b"not an image"),
    )
    with pytest.raises(BackendError, match="cannot decode"):
        predictor.predict([PredictInput(1, {"image": "x.png", "premise_options": ["a", "b"]})])


# --- the answers fit the task types' own annotation schemas


def test_every_backend_answer_fits_its_task_types_annotation_schema(
    classifier_dir, lm_dir, clip_dir, tmp_path
):
    from annotate.tasktypes import get_task_type

    def check(task_type, payload, prediction, config=None):
        plugin = get_task_type(task_type)
        item = plugin.validate_item(payload)
        cleaned = plugin.validate_annotation(
            prediction.value, config=plugin.config(config or {}), payload=item
        )
        assert {k: cleaned[k] for k in prediction.value} == prediction.value

    for threshold in (0.0, 1.01):  # a thread predicted toxic, and one predicted never toxic
        derail = load("sequence_classifier", "derailment", classifier_dir, threshold=threshold)
        check("derailment", THREAD, derail.predict([PredictInput(1, THREAD)])[0])
    tom = {
        **TOM,
        "questions": [
            {**q, "choices": [{"label": "A", "text": "drawer"}, {"label": "B", "text": "box"}]}
            if isinstance(q["choices"][0], str)
            else q
            for q in TOM["questions"]
        ],
    }
    check("tom", tom, load("causal_lm_judge", "tom", lm_dir).predict([PredictInput(2, tom)])[0])
    image = tmp_path / "argument.png"
    image.write_bytes(png((90, 90, 90)))
    visual = {
        "image": {"path": str(image), "width": 48, "height": 40},
        "conclusion": "Factories melt glaciers.",
        "premise_options": [
            {"id": "1", "text": "A glacier"},
            {"id": "2", "text": "A dog"},
            {"id": "3", "text": "A chimney"},
        ],
    }
    clip = load("clip", "visual_argument", clip_dir)
    check(
        "visual_argument",
        visual,
        clip.predict([PredictInput(3, visual)])[0],
        config={"mode": "identification"},
    )


# --- the registry: backends offer operations, task types map to them


def test_which_task_types_each_backend_answers_follows_from_the_mappings():
    assert {kind: spec.task_types for kind, spec in BACKENDS.items()} == {
        "reward_model": {"preference_pair"},
        "sequence_classifier": {"derailment"},
        "causal_lm_judge": {"preference_pair", "tom"},
        "clip": {"visual_argument"},
        "openai_http": {"preference_pair", "tom"},
    }


def test_a_predictor_knows_the_backends_parameters_and_those_of_the_mappings_it_serves():
    torch_params = {"device", "cuda_dtype", "max_tokens", "max_batch", "max_length"}
    margins = {"tie_margin", "strong_margin"}
    assert {kind: set(spec.known_params()) for kind, spec in BACKENDS.items()} == {
        "reward_model": torch_params | margins | {"scale", "chat_template"},
        "sequence_classifier": torch_params | {"threshold", "positive_label"},
        "causal_lm_judge": torch_params
        | margins
        | {"options", "allow_tie", "debias_order", "length_normalize", "chat_template"},
        "clip": torch_params | {"image_field", "options_field", "prompt"},
        "openai_http": margins
        | {"allow_tie", "guided_choice", "logprobs", "system_prompt", "base_url", "model"}
        | {"api_key_env", "timeout", "max_concurrency", "max_retries"},
    }
    # A tom judge accepts the preference parameters too, as it always has (they go unused).
    spec = BACKENDS["causal_lm_judge"]
    assert spec.params_with_defaults({"tie_margin": 0.2}, "tom")["tie_margin"] == 0.2
    assert "options" not in spec.params_with_defaults({}, "tom")
    assert spec.params_with_defaults({}, "preference_pair")["options"]["tie"] == " tie"


def test_the_judge_refuses_bad_options_before_loading_the_model(lm_dir):
    with pytest.raises(BackendError, match="options must map"):
        load("causal_lm_judge", "preference_pair", lm_dir + "-missing", options={"a": " A"})


def test_a_new_task_type_gets_a_backend_by_adding_a_mapping_only(classifier_dir, monkeypatch):
    import annotate.tasktypes as registry
    from annotate.tasktypes import TaskType
    from annotate.tasktypes.modeling import (
        CLASSIFY_TEXTS,
        ClassifyTexts,
        ItemPrediction,
        OperationMapping,
    )

    class Sentiment(OperationMapping):
        operation = CLASSIFY_TEXTS
        default_params = {"label_names": ["negative", "positive"]}

        def request(self, payload):
            return ClassifyTexts([payload["text"]])

        def prediction(self, key, payload, response):
            distribution = dict(zip(self.params["label_names"], response[0], strict=True))
            best = max(distribution, key=distribution.get)
            return ItemPrediction(key, {"label": best}, distribution[best], distribution)

    class SentimentType(TaskType):
        name = "sentiment_for_test"
        label = "Sentiment"
        predictions = (Sentiment,)

    monkeypatch.setitem(registry._REGISTRY, SentimentType.name, SentimentType())
    spec = BACKENDS["sequence_classifier"]
    assert SentimentType.name in spec.task_types
    assert SentimentType.name not in BACKENDS["reward_model"].task_types
    assert "label_names" in spec.known_params()
    tokenizer = AutoTokenizer.from_pretrained(classifier_dir)
    model = AutoModelForSequenceClassification.from_pretrained(classifier_dir).eval()
    text = "This is a useless answer, fix it now!"
    expected = torch.softmax(plain_reward(model, tokenizer, text), -1).tolist()
    predictor = load("sequence_classifier", SentimentType.name, classifier_dir)
    prediction = predictor.predict([PredictInput(8, {"text": text})])[0]
    assert list(prediction.distribution.values()) == pytest.approx(expected, abs=1e-5)
    assert prediction.value["label"] in {"negative", "positive"}
    with pytest.raises(BackendError, match="does not answer"):
        load("reward_model", SentimentType.name, classifier_dir)

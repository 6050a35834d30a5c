"""The synthetic evaluation suite: held-out split, caption parsing, metrics and the confusion PNG."""
from __future__ import annotations

from workers.runtime import load_model
from workers.training.evaluate import evaluate, parse_caption, plot_confusion, suite_jobs, summarise
from workers.training.scenes import plan_scene
from workers.training.scenes.spec import STILL_ACTIONS
from workers.training.scenes.split import (CROWD_SEEDS, EVAL_SEEDS, TRAIN_SEEDS, crowded_jobs, held_out_pairs,
                                           is_held_out, training_jobs)


def test_suite_is_held_out_from_training():
    held = held_out_pairs(20)
    train = training_jobs(3000, seed=0, two_object_share=0.6, held=held)
    assert not any(is_held_out(*o["objects"], held) for _, o in train if "objects" in o)
    jobs = suite_jobs(500)
    assert {j.seed for j in jobs}.isdisjoint({s for s, _ in train})
    assert all(j.seed >= EVAL_SEEDS > TRAIN_SEEDS + 10**7 for j in jobs)
    kinds = [j.kind for j in jobs]
    assert kinds.count("single") == 225 and kinds.count("two") + kinds.count("two-held-out") == 225
    assert all(is_held_out(*j.options["objects"], held) for j in jobs if j.kind == "two-held-out")
    assert suite_jobs(500) == jobs


def test_still_share_adds_hard_negatives_without_held_out_pairs():
    held = held_out_pairs(20)
    plain = training_jobs(2000, seed=0, two_object_share=0.6, held=held)
    mixed = training_jobs(2000, seed=0, two_object_share=0.6, held=held, still_share=0.1)
    still = [(s, o) for s, o in mixed if "drift" in o]
    assert 150 < len(still) < 250 and not any("drift" in o for _, o in plain)
    for seed, options in still:
        assert set(options["actions"]) <= set(STILL_ACTIONS) and 0.10 <= abs(options["drift"]) <= 0.20
        plan = plan_scene(seed, **options)
        assert all(o.action in STILL_ACTIONS for o in plan.objects) and abs(plan.drift) >= 0.10
        if len(options["objects"]) == 2:
            assert not is_held_out(*options["objects"], held)
    # the other clips are those of the plain recipe
    kept = {s: o for s, o in mixed if "drift" not in o}
    assert all(dict(plain)[s] == o for s, o in kept.items())


def test_parse_caption():
    assert parse_caption("a red circle moves left and a blue square stays still") == [
        ("red", "circle", "moving left"), ("blue", "square", "staying still")]
    assert parse_caption("a white triangle disappears") == [("white", "triangle", "disappearing")]
    assert parse_caption("something else") == []


def _row(truth, got, top1="moving left", main="moving left", objects=None):
    return {"seed": 1, "kind": "single", "truth": truth, "caption": got, "top1": top1, "main_action": main,
            "objects": objects or [("red", "circle", "moving left")], "qa": [("How many objects are there?", "one",
                                                                              "one")]}


def test_summarise_counts_attributes_and_false_motion():
    rows = [_row("a red circle moves left", "a red circle moves left"),
            _row("a red circle moves left", "a red square moves left"),
            _row("a red circle stays still", "a red circle moves up", top1="moving up", main="staying still",
                 objects=[("red", "circle", "staying still")])]
    report = summarise(rows)
    assert report["single_all_correct"] == round(1 / 3, 4)
    assert report["attribute_accuracy"] == {"colour": 1.0, "shape": round(2 / 3, 4), "action": round(2 / 3, 4)}
    assert report["action_top1"] == round(2 / 3, 4)
    assert report["no_motion_clips"] == 1 and report["no_motion_clips_said_moving"] == 1
    assert report["qa_accuracy"] == 1.0 and report["passed"] is False
    assert (report["strong_drift_clips"], report["strong_drift_clips_said_moving"]) == (0, 0)
    drift = dict(rows[2], kind="drift")
    still = _row("a red circle stays still", "a red circle stays still", top1="staying still", main="staying still",
                 objects=[("red", "circle", "staying still")])
    report = summarise(rows[:2] + [drift, dict(still, kind="drift")])
    assert (report["strong_drift_clips"], report["strong_drift_clips_said_moving"]) == (2, 1)
    assert report["no_motion_clips_said_moving"] == 1


def test_evaluate_runs_the_runtime_and_draws_the_confusion(short_run, tmp_path):
    model = load_model(short_run / "stage3-sft")
    report = evaluate(model, suite_jobs(20)[:3], batch=2)
    assert report["clips"] == 3 and 0.0 <= report["action_top1"] <= 1.0
    assert sum(n for _, _, n in report["confusion_top1"]) == 3
    assert plot_confusion(report, tmp_path / "c.png").stat().st_size > 1000


def test_another_seed_draws_other_clips_but_keeps_the_suites_pairs_held_out():
    from dataclasses import replace

    from workers.training.recipe import TINY_SYNTHETIC
    from workers.training.trainer import training_clips

    def pairs(options):
        return {tuple(sorted(map(tuple, o["objects"]))) for o in options if len(o.get("objects", ())) == 2}

    held = pairs(j.options for j in suite_jobs(500) if j.kind == "two-held-out")
    first = training_clips(replace(TINY_SYNTHETIC, train_clips=3000))
    other = training_clips(replace(TINY_SYNTHETIC, train_clips=3000, seed=1))
    assert [o for _, o in first] != [o for _, o in other]
    assert len(held) == 20 and held.isdisjoint(pairs(o for _, o in first))
    assert held.isdisjoint(pairs(o for _, o in other)) and len(pairs(o for _, o in other)) == 105 - 20


def test_crowded_frames_keep_held_out_pairs_apart_and_objects_apart():
    held = held_out_pairs(20)
    jobs = crowded_jobs(300, seed=0, held=held)
    assert {len(o["objects"]) for _, o in jobs} == {3, 4, 5}
    train = {s for s, _ in training_jobs(3000, seed=0, two_object_share=0.6, held=held)}
    assert all(CROWD_SEEDS <= s < EVAL_SEEDS and s not in train for s, _ in jobs)
    for seed, options in jobs[:60]:
        objects = [tuple(o) for o in options["objects"]]
        assert len(set(objects)) == len(objects)
        assert not any(is_held_out(a, b, held) for k, a in enumerate(objects) for b in objects[k + 1:])
        plan = plan_scene(seed, **options)
        aspect = plan.width / plan.height
        mid = plan.frames // 2
        for k, a in enumerate(plan.objects):
            assert a.action == "staying still"
            for b in plan.objects[k + 1:]:
                (ax, ay), (bx, by) = a.position(mid, plan.frames), b.position(mid, plan.frames)
                assert max(abs(ax - bx) * aspect, abs(ay - by)) >= (a.size + b.size) / 2

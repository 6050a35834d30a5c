"""The fixed word list of the tiny checkpoint's word-level tokenizer.

Words for camera scenes (colours, shapes, things, places, motion, directions,
numbers), the words of the runtime's own prompts and templates, and
punctuation. Text is lower-cased; digits are single tokens, so any number can
be written; anything else becomes ``<unk>``.
"""
from __future__ import annotations

COLOURS = "red green blue yellow orange purple pink brown black white gray grey dark bright light".split()
SHAPES = "circle square triangle rectangle line dot shape box ball block spot stripe edge corner".split()
THINGS = (
    "person people man woman child kid group crowd car cars truck bus van bike bicycle motorcycle vehicle "
    "vehicles train boat plane dog cat bird animal tree trees grass road street sidewalk crosswalk building "
    "house door window wall floor ceiling room sky cloud sun rain snow water river field parking lot gate "
    "fence sign traffic camera scene frame video image picture object objects thing things shadow lights "
    "table chair desk screen bag package robot hand face head"
).split()
MOTION = (
    "moving moves move walking walks walk running runs run driving drives drive turning turns turn "
    "stopping stops stop standing stands stand sitting sits sit entering enters leaving leaves appearing "
    "appears disappearing disappears passing passes crossing crosses waiting waits parked flying flies "
    "falling falls rising rises opening opens closing closes carrying carries holding holds looking looks "
    "shaking shakes rotating spinning sliding still static changing changes happening happens happened "
    "going goes coming comes starts ends begins"
).split()
DIRECTIONS = (
    "left right up down top bottom center middle front back behind near far away toward towards across "
    "into out through along around over under above below inside outside between side north south east west"
).split()
NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve twenty hundred first second "
    "third last many few several some no none all both each every single"
).split()
COMMON = (
    "a an the this that these those there here it its is are was were be been being has have had do does "
    "did not and or but if then than so very more less most least much also only just again still "
    "of in on at by for with from to as about after before during while when where what which who why how "
    "i you he she we they them their his her my your our me us him "
    "slowly quickly fast slow large small big little long short tall high low new old same other another "
    "empty full busy quiet nothing something someone anything everything nobody "
    "time times second seconds minute minutes moment day night morning evening today now later "
    "yes ok okay can could will would should may might must"
).split()
PROMPT_WORDS = (
    "describe describes description what happens video sentence which best answer answers question questions "
    "choose option options summary summarize summarise write short brief caption detail detailed "
    "chat between curious user artificial intelligence assistant gives helpful polite system "
    "activity action actions event events label labels s"
).split()
PUNCTUATION = list(".,:;!?'\"-()/")

WORDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        COLOURS + SHAPES + THINGS + MOTION + DIRECTIONS + NUMBERS + COMMON + PROMPT_WORDS + PUNCTUATION
        + [str(d) for d in range(10)]
    )
)

# Words that often start a prompt or sentence, also given a capitalised token.
CAPITALIZED: tuple[str, ...] = tuple(
    dict.fromkeys(PROMPT_WORDS + "a an the this there it is are what which who how why where when you i "
                  "nothing something someone one two three".split())
)

"""Decoding (greedy, or seeded sampling on request) and answer scoring over a left-padded embedding batch.

Both run the LLM once over the whole batch (prefill) and then reuse its KV
cache. Ids in ``banned`` (media tokens, rows past the tokenizer) get -inf
logits, so they are never generated and take no probability mass when scoring.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from workers.runtime.inputs import Batch
from workers.runtime.sampling import Chooser, Sampling


def _mask_banned(logits: torch.Tensor, banned: torch.Tensor) -> torch.Tensor:
    logits = logits.float()
    if banned.numel():
        logits[..., banned] = float("-inf")
    return logits


def greedy_generate(
    llm: torch.nn.Module,
    batch: Batch,
    *,
    max_new_tokens: int,
    stop_ids: Sequence[int],
    banned: torch.Tensor,
    pad_id: int,
    stop_text: Callable[[list[int]], bool] | None = None,
    sampling: Sampling | None = None,
) -> list[list[int]]:
    """Continuation of every row of ``batch``: greedy, or sampled when ``sampling`` is given.

    Returns, per row, the generated ids without the stop token. A row ends at a
    token in ``stop_ids``, when ``stop_text(ids)`` says so (multi-token stop
    strings), or after ``max_new_tokens`` tokens. Finished rows keep stepping
    with ``pad_id`` (masked out of their results) until every row is done.
    """
    rows = batch.embeds.shape[0]
    results: list[list[int]] = [[] for _ in range(rows)]
    if max_new_tokens <= 0:
        return results
    stops = set(int(i) for i in stop_ids)
    mask = batch.mask
    out = llm(inputs_embeds=batch.embeds, attention_mask=mask, position_ids=batch.positions,
              use_cache=True, logits_to_keep=1)
    cache, logits = out.past_key_values, out.logits[:, -1]
    position = batch.last_positions + 1
    done = [False] * rows
    choose = Chooser(sampling, rows, logits.device)
    for step in range(max_new_tokens):
        tokens = choose(_mask_banned(logits, banned)).tolist()  # one device-to-host copy a step
        for row, token in enumerate(tokens):
            if done[row]:
                continue
            if token in stops:
                done[row] = True
                continue
            results[row].append(token)
            if stop_text is not None and stop_text(results[row]):
                done[row] = True
        if all(done) or step == max_new_tokens - 1:
            break
        feed = torch.tensor([pad_id if d else t for d, t in zip(done, tokens)], device=mask.device)
        mask = torch.cat([mask, mask.new_ones((rows, 1))], dim=1)
        out = llm(input_ids=feed[:, None], attention_mask=mask, position_ids=position[:, None],
                  past_key_values=cache, use_cache=True)
        cache, logits = out.past_key_values, out.logits[:, -1]
        position = position + 1
    return results


generate_ids = greedy_generate  # the name says greedy; it samples when given ``sampling``


def mean_logprobs(
    llm: torch.nn.Module,
    batch: Batch,
    answers: Sequence[Sequence[int]],
    *,
    banned: torch.Tensor,
) -> torch.Tensor:
    """Mean token log-likelihood of every answer after every row's prompt.

    ``answers`` is the same list of (non-empty) id lists for each row. Returns a
    (rows, len(answers)) float32 tensor. The prompt is run once per row; its
    cache is repeated for the answers, which are right-padded.
    """
    rows, count = batch.embeds.shape[0], len(answers)
    if any(len(a) == 0 for a in answers):
        raise ValueError("every answer needs at least one token")
    device = batch.mask.device
    out = llm(inputs_embeds=batch.embeds, attention_mask=batch.mask, position_ids=batch.positions,
              use_cache=True, logits_to_keep=1)
    cache = out.past_key_values
    first = _mask_banned(out.logits[:, -1], banned).log_softmax(dim=-1)  # (rows, V)
    longest = max(len(a) for a in answers)
    ids = torch.zeros((count, longest), dtype=torch.long, device=device)
    valid = torch.zeros((count, longest), dtype=torch.long, device=device)
    for i, answer in enumerate(answers):
        ids[i, : len(answer)] = torch.tensor(list(answer), device=device)
        valid[i, : len(answer)] = 1
    # row-major: (row 0, answer 0..count-1), (row 1, ...), matching repeat_interleave.
    cache.batch_repeat_interleave(count)
    ids_all, valid_all = ids.repeat(rows, 1), valid.repeat(rows, 1)
    mask = torch.cat([batch.mask.repeat_interleave(count, dim=0), valid_all], dim=1)
    start = batch.last_positions.repeat_interleave(count) + 1
    positions = start[:, None] + torch.arange(longest, device=device)[None, :]
    logits = llm(input_ids=ids_all, attention_mask=mask, position_ids=positions,
                 past_key_values=cache, use_cache=True).logits
    later = _mask_banned(logits[:, :-1], banned).log_softmax(dim=-1)  # predicts tokens 1..longest-1
    first_rep = first.repeat_interleave(count, dim=0)
    token_lp = torch.empty((rows * count, longest), dtype=torch.float32, device=device)
    token_lp[:, 0] = first_rep.gather(1, ids_all[:, :1]).squeeze(1)
    if longest > 1:
        token_lp[:, 1:] = later.gather(2, ids_all[:, 1:, None]).squeeze(2)
    token_lp = torch.where(valid_all.bool(), token_lp, torch.zeros_like(token_lp))
    mean = token_lp.sum(dim=1) / valid_all.sum(dim=1)
    return mean.reshape(rows, count)

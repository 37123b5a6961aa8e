#!/usr/bin/env python3
"""PyTorch peer of bench/engine.bench.ts: the same models, shapes and protocol, in eager PyTorch.

Standalone, prints one JSON object per line: {"name": ..., "ms": median ms}. bench/engine.bench.ts
runs it with --serve and alternates single steps with the engine's (torch.set_num_threads(2),
LD_PRELOAD=libtcmalloc when present, OPENBLAS_CORETYPE from the CPU flags, OMP_WAIT_POLICY=PASSIVE),
so both see the same machine load. Plain torch only (no transformers): post-LN BERT encoder with a token-classification
head or BERT's masked-LM head (masks drawn every step, as transformers' DataCollatorForLanguageModeling
draws them), GPT-2 decoder with a tied LM head, both written as transformers writes them (Linear/Conv1D
projections, softmax attention with an additive mask, LayerNorm, GELU erf / tanh).

  python3 bench/pytorch/bench.py [--only encoder,mlm,decoder,generate,bert-base] [--iters N] [--warmup N]
  python3 bench/pytorch/bench.py --serve    # step-by-step line protocol used by the engine benchmark
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = 2


def median_ms(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    return statistics.median(ts), ts


# ----------------------------------------------------------------------------- encoder (BERT)
class BertLayer(nn.Module):
    def __init__(self, C, H, Fd, eps):
        super().__init__()
        self.H = H
        self.q = nn.Linear(C, C)
        self.k = nn.Linear(C, C)
        self.v = nn.Linear(C, C)
        self.o = nn.Linear(C, C)
        self.ln1 = nn.LayerNorm(C, eps=eps)
        self.fc1 = nn.Linear(C, Fd)
        self.fc2 = nn.Linear(Fd, C)
        self.ln2 = nn.LayerNorm(C, eps=eps)

    def forward(self, h, bias):
        B, T, C = h.shape
        D = C // self.H
        q = self.q(h).view(B, T, self.H, D).transpose(1, 2)
        k = self.k(h).view(B, T, self.H, D).transpose(1, 2)
        v = self.v(h).view(B, T, self.H, D).transpose(1, 2)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D) + bias
        ctx = torch.matmul(s.softmax(-1), v).transpose(1, 2).reshape(B, T, C)
        a = self.ln1(self.o(ctx) + h)
        return self.ln2(self.fc2(F.gelu(self.fc1(a))) + a)


class Bert(nn.Module):
    """labels=None: BertForMaskedLM's head (dense, GELU, LayerNorm; decoder tied to the word embeddings, own bias)."""

    def __init__(self, V, C, L, H, Fd, labels, P=512, eps=1e-12):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(P, C)
        self.tte = nn.Embedding(2, C)
        self.ln = nn.LayerNorm(C, eps=eps)
        self.layers = nn.ModuleList([BertLayer(C, H, Fd, eps) for _ in range(L)])
        self.cls = None if labels is None else nn.Linear(C, labels)
        if labels is None:
            self.transform = nn.Linear(C, C)
            self.transform_ln = nn.LayerNorm(C, eps=eps)
            self.decoder_bias = nn.Parameter(torch.zeros(V))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                m.weight.data.normal_(0, 0.02)

    def forward(self, ids, mask):
        B, T = ids.shape
        pos = torch.arange(T).unsqueeze(0).expand(B, T)
        h = self.ln(self.wte(ids) + self.wpe(pos) + self.tte(torch.zeros_like(ids)))
        bias = ((1.0 - mask) * torch.finfo(torch.float32).min)[:, None, None, :]
        for layer in self.layers:
            h = layer(h, bias)
        if self.cls is not None:
            return self.cls(h)
        return F.linear(self.transform_ln(F.gelu(self.transform(h))), self.wte.weight, self.decoder_bias)


def make_encoder(name, V, C, L, H, Fd, B, T):
    torch.manual_seed(0)
    labels_n = 43
    model = Bert(V, C, L, H, Fd, labels_n)
    ids = torch.randint(0, V, (B, T))
    mask = torch.ones(B, T)
    labels = torch.randint(0, labels_n, (B, T))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)

    def step():
        model.train()
        opt.zero_grad(set_to_none=True)
        logits = model(ids, mask)
        loss = F.cross_entropy(logits.view(-1, labels_n), labels.view(-1))
        loss.backward()
        opt.step()

    def fwd():
        model.eval()
        with torch.inference_mode():
            model(ids, mask)

    return {f"{name}.train": step, f"{name}.forward": fwd}


def make_mlm(V, C, L, H, Fd, B, T, mask_id=103, first=1000):
    """Masked-LM pre-training: windows [CLS] … [SEP] of ids >= `first` (past BERT's special and unused ids),
    masked afresh every step: 15% of the non-special positions, of those 80% [MASK], 10% random, 10% kept."""
    torch.manual_seed(0)
    model = Bert(V, C, L, H, Fd, None)
    ids = torch.randint(first, V, (B, T))
    ids[:, 0], ids[:, -1] = 101, 102
    mask = torch.ones(B, T)
    special = ids < first
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)

    def step():
        model.train()
        opt.zero_grad(set_to_none=True)
        chosen = torch.bernoulli(torch.full((B, T), 0.15)).bool() & ~special
        labels = ids.masked_fill(~chosen, -100)
        masked = torch.bernoulli(torch.full((B, T), 0.8)).bool() & chosen
        rand = torch.bernoulli(torch.full((B, T), 0.5)).bool() & chosen & ~masked
        inputs = ids.masked_fill(masked, mask_id)
        inputs = torch.where(rand, torch.randint(first, V, (B, T)), inputs)
        logits = model(inputs, mask)
        loss = F.cross_entropy(logits.view(-1, V), labels.view(-1), ignore_index=-100)
        loss.backward()
        opt.step()

    return {"encoder.mlm": step}


# ----------------------------------------------------------------------------- decoder (GPT-2)
class Gpt2Block(nn.Module):
    def __init__(self, C, H, Fd, eps=1e-5):
        super().__init__()
        self.H = H
        self.ln1 = nn.LayerNorm(C, eps=eps)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C, eps=eps)
        self.fc = nn.Linear(C, Fd)
        self.proj = nn.Linear(Fd, C)

    def forward(self, h, bias, past=None):
        B, T, C = h.shape
        D = C // self.H
        q, k, v = self.c_attn(self.ln1(h)).split(C, dim=2)
        q = q.view(B, T, self.H, D).transpose(1, 2)
        k = k.view(B, T, self.H, D).transpose(1, 2)
        v = v.view(B, T, self.H, D).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D) + bias
        ctx = torch.matmul(s.softmax(-1), v).transpose(1, 2).reshape(B, T, C)
        h = h + self.c_proj(ctx)
        h = h + self.proj(F.gelu(self.fc(self.ln2(h)), approximate="tanh"))
        return h, (k, v)


class Gpt2(nn.Module):
    def __init__(self, V, C, L, H, Fd, P=1024):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(P, C)
        self.blocks = nn.ModuleList([Gpt2Block(C, H, Fd) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                m.weight.data.normal_(0, 0.02)

    def forward(self, ids, start=0, past=None):
        B, T = ids.shape
        pos = torch.arange(start, start + T).unsqueeze(0)
        h = self.wte(ids) + self.wpe(pos)
        S = start + T
        causal = torch.ones(T, S, dtype=torch.bool).tril(diagonal=start)
        bias = torch.zeros(T, S).masked_fill(~causal, torch.finfo(torch.float32).min)[None, None]
        present = []
        for i, blk in enumerate(self.blocks):
            h, kv = blk(h, bias, None if past is None else past[i])
            present.append(kv)
        return F.linear(self.ln_f(h), self.wte.weight), present


def make_decoder(V, C, L, H, Fd, B, T):
    torch.manual_seed(0)
    model = Gpt2(V, C, L, H, Fd)
    ids = torch.randint(0, V, (B, T))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        logits, _ = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
        loss.backward()
        opt.step()

    return {"decoder.train": step}


def make_generate(V, C, L, H, Fd, batches, prompt, new):
    """Greedy generation with a KV cache (concatenated per step, as transformers does)."""
    torch.manual_seed(0)
    model = Gpt2(V, C, L, H, Fd).eval()
    out = {}
    for B in batches:
        ids = torch.randint(0, V, (B, prompt))

        def gen(ids=ids):
            with torch.inference_mode():
                logits, past = model(ids)
                nxt = logits[:, -1].argmax(-1, keepdim=True)
                for t in range(new - 1):
                    logits, past = model(nxt, prompt + t, past)
                    nxt = logits[:, -1].argmax(-1, keepdim=True)

        out[f"generate.b{B}"] = gen
    return out


def workloads(section, prompt, new):
    if section == "encoder":
        return make_encoder("encoder", 30522, 256, 4, 4, 1024, 16, 128)
    if section == "mlm":
        return make_mlm(30522, 256, 4, 4, 1024, 16, 128)
    if section == "decoder":
        return make_decoder(8000, 384, 6, 6, 1536, 16, 128)
    if section == "generate":
        return make_generate(8000, 384, 6, 6, 1536, [1, 16], prompt, new)
    if section == "bert-base":
        w = make_encoder("bert-base", 30522, 768, 12, 12, 3072, 8, 128)
        return {"bert-base.train": w["bert-base.train"]}
    raise SystemExit(f"unknown section {section}")


def serve(a):
    """Line protocol on stdin/stdout, so the engine benchmark can alternate steps with PyTorch's:
    {"setup": section} -> {"names": [...]};  {"run": name} -> {"ms": wall ms of one call}."""
    fns = {}
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        msg = json.loads(line)
        if "setup" in msg:
            fns = workloads(msg["setup"], a.prompt, a.new)
            print(json.dumps({"names": list(fns)}), flush=True)
        elif "run" in msg:
            t = time.perf_counter()
            fns[msg["run"]]()
            print(json.dumps({"ms": (time.perf_counter() - t) * 1000}), flush=True)
        elif "quit" in msg:
            break


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="encoder,mlm,decoder,generate,bert-base")
    ap.add_argument("--iters", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--serve", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(THREADS)
    if a.serve:
        return serve(a)
    print(json.dumps({"name": "info", "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for section in a.only.split(","):
        for name, fn in workloads(section, a.prompt, a.new).items():
            ms, _ = median_ms(fn, a.warmup, a.iters)
            print(json.dumps({"name": name, "ms": ms}), flush=True)


if __name__ == "__main__":
    sys.exit(main())

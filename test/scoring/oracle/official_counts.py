"""Scores the dumped perturbation cases with the official MEDDOCAN evaluation script's own classes
and prints its raw counts and micro scores as JSON (test/scoring/fixtures/official-counts.json).

Usage (from a checkout of github.com/PlanTL-GOB-ES/MEDDOCAN-Evaluation-Script, commit 843152c,
so that its relative path annotated_corpora/sentence_splitted/ resolves for the leak score):
    PYTHONUTF8=1 python3 official_counts.py <cases dir with manifest.json> <out.json>
(The script prints a 'not found' line per document without a sentence file: leak is then None.)
"""
import json
import os
import sys

sys.path.insert(0, os.getcwd())
from classes import BratAnnotation, EvaluateSubtrack1, EvaluateSubtrack2, EvaluateSubtrack2merged  # noqa: E402


def load(d):
    return {a.id: a for a in (BratAnnotation(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith('.ann'))}


def summary(e):
    tp = sum(len(t) for t in e.tp)
    fp = sum(len(t) for t in e.fp)
    fn = sum(len(t) for t in e.fn)
    p, r = e.micro_precision(), e.micro_recall()
    return {'tp': tp, 'fp': fp, 'fn': fn, 'precision': p, 'recall': r, 'f1': e.F_beta(r, p)}


out = {'script': 'PlanTL-GOB-ES/MEDDOCAN-Evaluation-Script@843152c classes.py', 'cases': {}}
for case in json.load(open(os.path.join(sys.argv[1], 'manifest.json'))):
    gold = load(os.path.join(case['dir'], 'gold'))
    system = load(os.path.join(case['dir'], 'system'))
    ner = EvaluateSubtrack1(system, gold)
    leak = ner.micro_leak()
    out['cases'][case['name']] = {
        'documents': len(ner.doc_ids),
        # fingerprint of the predictions, so a test can check it regenerated the very same case
        'predSpans': sum(len(a.phi) for a in system.values()),
        'predOffsetSum': sum(s + e for a in system.values() for (_, s, e) in a.phi),
        'ner': summary(ner),
        'leak': leak if isinstance(leak, float) else None,
        'strict': summary(EvaluateSubtrack2(system, gold)),
        'merged': summary(EvaluateSubtrack2merged(system, gold)),
    }
with open(sys.argv[2], 'w') as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write('\n')

#!/usr/bin/env python3
"""Reference values for the metric tests (tests/test_metrics_*.c), standard library only.

sklearn, seqeval and scipy are not assumed to be installed, so this file re-implements the parts the tests
need, line by line after the originals:
  - sklearn.metrics.precision_recall_fscore_support (zero_division=0, labels=None or a label list) and
    matthews_corrcoef (multi-class form), see sklearn/metrics/_classification.py;
  - seqeval.metrics.sequence_labeling.get_entities / end_of_chunk / start_of_chunk (seqeval 1.2.2, default
    mode, which reproduces conlleval) and the per-type counts behind classification_report;
  - the (iii) "(9+1)-way, directionality taken into account" branch of semeval2010_task8_scorer-v1.2.pl;
  - scipy.stats.rankdata(method="average") + pearsonr for Spearman's rho.
The C tests draw the same pseudo-random cases from the same LCG and compare against the numbers printed
here (printed with 17 significant digits; the tests allow 1e-12).

usage: python3 tests/ref/metrics_ref.py
"""
import math


class Lcg:
    """The C tests' generator: glibc's old rand() recurrence, 15 bits per draw."""

    def __init__(self, seed):
        self.s = seed

    def next(self):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return self.s >> 16


# ---------------------------------------------------------------- classification (sklearn) ----

def prf(tp, n_pred, n_gold):
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def sk_prfs(gold, pred, labels, average):
    """precision_recall_fscore_support(gold, pred, labels=labels, average=average, zero_division=0)."""
    rows = []
    for c in labels:
        tp = sum(1 for g, p in zip(gold, pred) if g == c and p == c)
        n_pred = sum(1 for p in pred if p == c)
        n_gold = sum(1 for g in gold if g == c)
        rows.append((tp, n_pred, n_gold))
    if average == "micro":
        return prf(sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows))
    per = [prf(*r) for r in rows]
    if average == "macro":
        return tuple(sum(x[i] for x in per) / len(per) for i in range(3))
    if average == "weighted":
        w = [r[2] for r in rows]
        return tuple(sum(x[i] * wi for x, wi in zip(per, w)) / sum(w) for i in range(3))
    return [(*prf(*r), r[2]) for r in rows]


def sk_mcc(gold, pred):
    labels = sorted(set(gold) | set(pred))
    t = [sum(1 for g in gold if g == c) for c in labels]
    p = [sum(1 for x in pred if x == c) for c in labels]
    c = sum(1 for g, x in zip(gold, pred) if g == x)
    s = len(gold)
    cov_yp = c * s - sum(a * b for a, b in zip(t, p))
    cov_pp = s * s - sum(b * b for b in p)
    cov_yy = s * s - sum(a * a for a in t)
    return 0.0 if cov_pp * cov_yy == 0 else cov_yp / math.sqrt(cov_yy * cov_pp)


def classification_case():
    """200 draws over 6 classes (class 5 never occurs); gold -1 (ignored) now and then; pred = gold 2/3 of
    the time. The ignored pairs are dropped before sklearn sees them, as the C API does."""
    rng = Lcg(12345)
    gold, pred = [], []
    for _ in range(200):
        g = rng.next() % 5
        if rng.next() % 13 == 0:
            g = -1
        r = rng.next()
        p = g if r % 3 and g >= 0 else rng.next() % 5
        gold.append(g)
        pred.append(p)
    kept = [(g, p) for g, p in zip(gold, pred) if g >= 0]
    g = [a for a, _ in kept]
    p = [b for _, b in kept]
    labels = sorted(set(g) | set(p))
    print("== classification_case (seed 12345, n 200, 6 labels)")
    print("counted %d, accuracy %.17g" % (len(g), sum(1 for a, b in kept if a == b) / len(g)))
    for c, row in zip(labels, sk_prfs(g, p, labels, None)):
        print("class %d: P %.17g R %.17g F %.17g support %d" % (c, *row))
    for avg in ("micro", "macro", "weighted"):
        print("%s: P %.17g R %.17g F %.17g" % (avg, *sk_prfs(g, p, labels, avg)))
    # exclude class 0: sklearn labels=[1, 2, 3, 4] (the classes seen, minus 0)
    sub = [c for c in labels if c != 0]
    for avg in ("micro", "macro", "weighted"):
        print("%s excluding 0: P %.17g R %.17g F %.17g" % (avg, *sk_prfs(g, p, sub, avg)))
    print("mcc %.17g" % sk_mcc(g, p))


# ---------------------------------------------------------------- entities (seqeval / conlleval) ----

def end_of_chunk(prev_tag, tag, prev_type, type_):
    chunk_end = False
    if prev_tag == "E":
        chunk_end = True
    if prev_tag == "S":
        chunk_end = True
    if prev_tag == "B" and tag in ("B", "S", "O"):
        chunk_end = True
    if prev_tag == "I" and tag in ("B", "S", "O"):
        chunk_end = True
    if prev_tag != "O" and prev_tag != "." and prev_type != type_:
        chunk_end = True
    return chunk_end


def start_of_chunk(prev_tag, tag, prev_type, type_):
    chunk_start = False
    if tag in ("B", "S"):
        chunk_start = True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        chunk_start = True
    if tag != "O" and tag != "." and prev_type != type_:
        chunk_start = True
    return chunk_start


def get_entities(sentences):
    """seqeval's get_entities on a list of sentences (joined with an "O" between them)."""
    seq = [t for s in sentences for t in s + ["O"]]
    prev_tag, prev_type, begin, chunks = "O", "", 0, []
    for i, chunk in enumerate(seq + ["O"]):
        tag = chunk[0]
        type_ = chunk[1:].split("-", maxsplit=1)[-1] or "_"
        if end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def entity_report(name, gold, pred):
    g, p = set(get_entities(gold)), set(get_entities(pred))
    types = sorted({t for t, _, _ in g | p})
    flat_g = [t for s in gold for t in s]
    flat_p = [t for s in pred for t in s]
    print("== %s: %d sentences, %d tokens" % (name, len(gold), len(flat_g)))
    print("token accuracy %.17g" % (sum(1 for a, b in zip(flat_g, flat_p) if a == b) / len(flat_g)))
    rows = []
    for t in types:
        c = len({e for e in g & p if e[0] == t})
        n_p = len({e for e in p if e[0] == t})
        n_g = len({e for e in g if e[0] == t})
        rows.append((c, n_p, n_g))
        print("%s: correct %d pred %d gold %d P %.17g R %.17g F %.17g" % (t, c, n_p, n_g, *prf(c, n_p, n_g)))
    tot = [sum(r[i] for r in rows) for i in range(3)]
    print("overall: correct %d pred %d gold %d P %.17g R %.17g F %.17g" % (*tot, *prf(*tot)))
    per = [prf(*r) for r in rows]
    print("macro: P %.17g R %.17g F %.17g" % tuple(sum(x[i] for x in per) / len(per) for i in range(3)))


def random_sentences(seed, tags, n):
    rng = Lcg(seed)
    gold, pred = [], []
    for _ in range(n):
        length = 1 + rng.next() % 12
        gold.append([tags[rng.next() % len(tags)] for _ in range(length)])
        # a prediction copies the gold tag half of the time, so there are partial and exact matches
        pred.append([g if rng.next() % 2 else tags[rng.next() % len(tags)] for g in gold[-1]])
    return gold, pred


BIO_TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG", "B-ORG", "I-MISC"]
BIOES_TAGS = ["O", "O", "O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "E-LOC", "S-LOC", "I-LOC"]


# ---------------------------------------------------------------- SemEval-2010 Task 8 ----

def semeval_official(gold, pred):
    """(9+1)-way with direction; pred[i] None = skipped. Returns (macroP, macroR, macroF1) in percent."""
    strip = lambda s: s[:-7] if s.endswith(("(e1,e2)", "(e2,e1)", "(e1,e1)", "(e2,e2)")) else s
    conf, proposed, answer = {}, {}, {}
    for g, p in zip(gold, pred):
        answer[strip(g)] = answer.get(strip(g), 0) + 1
        if p is None:
            continue
        if p == g:
            key = (strip(p), strip(g))
        elif strip(p) == strip(g):
            key = ("WRONG_DIR", strip(g))
        else:
            key = (strip(p), strip(g))
        conf[key] = conf.get(key, 0) + 1
        proposed[key[0]] = proposed.get(key[0], 0) + 1
    mp = mr = mf = 0.0
    for lab in sorted(answer):
        wrong = conf.get(("WRONG_DIR", lab), 0)
        ok = conf.get((lab, lab), 0)
        n_p = proposed.get(lab, 0)
        P = 0 if n_p == 0 else 100.0 * ok / (n_p + wrong)
        R = 100.0 * ok / answer[lab]
        F = 0 if P + R == 0 else 2 * P * R / (P + R)
        if lab != "Other":
            mp, mr, mf = mp + P, mr + R, mf + F
    k = len(answer) - (1 if "Other" in answer else 0)
    return mp / k, mr / k, mf / k


# ---------------------------------------------------------------- regression (scipy) ----

def rankdata(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    ranks = [0.0] * len(v)
    a = 0
    while a < len(v):
        b = a + 1
        while b < len(v) and v[order[b]] == v[order[a]]:
            b += 1
        for k in range(a, b):
            ranks[order[k]] = 0.5 * (a + 1 + b)
        a = b
    return ranks


def pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


def regression_case():
    """300 values on a grid of quarters (many ties); pred = gold + a multiple of 1/8 (exact in float)."""
    rng = Lcg(777)
    gold, pred = [], []
    for _ in range(300):
        g = (rng.next() % 20) / 4.0
        gold.append(g)
        pred.append(g + ((rng.next() % 9) - 4) / 8.0)
    mse = sum((p - g) ** 2 for g, p in zip(gold, pred)) / len(gold)
    print("== regression_case (seed 777, n 300)")
    print("mse %.17g pearson %.17g spearman %.17g" % (mse, pearson(gold, pred),
                                                       pearson(rankdata(gold), rankdata(pred))))


if __name__ == "__main__":
    classification_case()
    entity_report("bio_case (seed 4242, 60 sentences)", *random_sentences(4242, BIO_TAGS, 60))
    entity_report("bioes_case (seed 99, 60 sentences)", *random_sentences(99, BIOES_TAGS, 60))
    gold = ["Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)", "Cause-Effect(e1,e2)", "Component-Whole(e1,e2)",
            "Component-Whole(e2,e1)", "Other", "Other", "Message-Topic(e1,e2)", "Message-Topic(e1,e2)",
            "Message-Topic(e2,e1)", "Component-Whole(e1,e2)", "Other"]
    pred = ["Cause-Effect(e1,e2)", "Cause-Effect(e1,e2)", "Other", "Component-Whole(e1,e2)",
            "Cause-Effect(e2,e1)", "Component-Whole(e2,e1)", "Other", "Message-Topic(e1,e2)",
            "Product-Producer(e1,e2)", None, "Component-Whole(e2,e1)", "Message-Topic(e2,e1)"]
    print("== semeval_case: macro P %.17g R %.17g F1 %.17g (percent)" % semeval_official(gold, pred))
    regression_case()
